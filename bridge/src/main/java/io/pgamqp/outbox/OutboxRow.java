package io.pgamqp.outbox;

import java.util.Map;

/**
 * One claimed {@code amqp.outbox} row: a message to publish ({@code kind 'p'}), an exchange declaration to apply
 * ({@code kind 'd'}, body null) or a queue or binding declaration to apply ({@code kind 't'}, body the id of its
 * {@code amqp.topology_declaration} row). Immutable (the body bytes are never written after the claim).
 *
 * @param tx the inserting transaction's xid8 (see {@link LateTransactions})
 * @param body the body as text, or null when {@code bodyBytes} holds it
 * @param bodyBytes the body to send byte for byte ({@code amqp.publish_bytes}), or null
 * @param createdAtMillis when the publishing transaction started, epoch milliseconds (the AMQP timestamp)
 * @param fields the optional AMQP fields ({@link Fields#NONE} for a plain {@code amqp.publish})
 */
public record OutboxRow(
    long id,
    long tx,
    char kind,
    String exchange,
    String routingKey,
    String body,
    byte[] bodyBytes,
    int deliveryMode,
    String contentType,
    String replyTo,
    String correlationId,
    String messageId,
    long createdAtMillis,
    int attempts,
    Fields fields) {

  public static final char PUBLISH = 'p';
  public static final char DECLARE = 'd';
  public static final char TOPOLOGY = 't';

  /**
   * The fields of an AMQP message that most rows leave out: headers (an unmodifiable {@link HeaderTable} map),
   * type, app-id, expiration in milliseconds, priority and content-encoding; null where not given.
   * {@code headersError}: why the stored headers cannot be sent (headers then null); such a row is dead-lettered.
   */
  public record Fields(
      Map<String, Object> headers, String type, String appId, Long expirationMs, Integer priority,
      String contentEncoding, String headersError) {

    public static final Fields NONE = new Fields(null, null, null, null, null, null, null);
  }

  /** A text-bodied row without optional fields (what {@code amqp.publish} with pg_amqp's arguments queues). */
  public OutboxRow(long id, long tx, char kind, String exchange, String routingKey, String body, int deliveryMode,
      String contentType, String replyTo, String correlationId, String messageId, long createdAtMillis,
      int attempts) {
    this(id, tx, kind, exchange, routingKey, body, null, deliveryMode, contentType, replyTo, correlationId,
        messageId, createdAtMillis, attempts, Fields.NONE);
  }

  /** An exchange, queue or binding declaration: applied, not published. */
  public boolean isDeclaration() {
    return kind == DECLARE || kind == TOPOLOGY;
  }

  /** A queue or binding declaration ({@code kind 't'}). */
  public boolean isTopology() {
    return kind == TOPOLOGY;
  }

  /** The {@code amqp.topology_declaration} id of a {@code kind 't'} row; -1 when its body is not one. */
  public long topologyId() {
    try {
      return Long.parseLong(body);
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
