package io.pgamqp.outbox;

import java.util.Map;

/**
 * A row of {@code amqp.topology_declaration}: a queue, a binding or an unbind that {@code amqp.queue_declare},
 * {@code queue_bind}, {@code exchange_bind} or their unbinds asked for. Immutable.
 *
 * @param name the queue; for a binding its destination (a queue or an exchange)
 * @param source a binding's source exchange ({@code ""} for a queue)
 * @param arguments the x-arguments as an AMQP field table ({@link HeaderTable}), or null for none
 * @param argumentsError why the stored arguments cannot be sent (arguments then null): the declaration fails
 */
public record TopologyDeclaration(
    long id, Kind kind, String name, String source, String routingKey, Map<String, Object> arguments,
    boolean durable, boolean autoDelete, boolean unbind, String argumentsError) {

  /** {@code amqp.topology_declaration.kind}. */
  public enum Kind {
    QUEUE, QUEUE_BINDING, EXCHANGE_BINDING;

    /** The SQL spelling ({@code queue}, {@code queue_binding}, {@code exchange_binding}). */
    public static Kind of(String sql) {
      return valueOf(sql.toUpperCase(java.util.Locale.ROOT));
    }
  }

  /** For logs: {@code queue 'q'}, {@code binding of queue 'q' to exchange 'x' (key 'k')}, {@code unbinding of ...}. */
  public String describe() {
    return switch (kind) {
      case QUEUE -> "queue '" + name + "'";
      case QUEUE_BINDING -> (unbind ? "unbinding" : "binding") + " of queue '" + name + "' to exchange '" + source
          + "' (key '" + routingKey + "')";
      case EXCHANGE_BINDING -> (unbind ? "unbinding" : "binding") + " of exchange '" + name + "' to exchange '"
          + source + "' (key '" + routingKey + "')";
    };
  }
}
