package io.pgamqp.outbox;

import java.util.Map;

/**
 * A row of {@code amqp.exchange_declaration}: what {@code amqp.exchange_declare} asked for. Immutable.
 *
 * @param arguments the x-arguments (e.g. alternate-exchange) as an AMQP field table ({@link HeaderTable}), or null
 * @param argumentsError why the stored arguments cannot be sent (arguments then null): the declaration fails
 */
public record ExchangeDeclaration(
    String exchange, String type, boolean passive, boolean durable, boolean autoDelete, Map<String, Object> arguments,
    String argumentsError) {

  /** Without arguments. */
  public ExchangeDeclaration(String exchange, String type, boolean passive, boolean durable, boolean autoDelete) {
    this(exchange, type, passive, durable, autoDelete, null, null);
  }
}
