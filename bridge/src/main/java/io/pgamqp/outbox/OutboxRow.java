package io.pgamqp.outbox;

/**
 * One claimed {@code amqp.outbox} row: a message to publish ({@code kind 'p'}) or an exchange declaration to apply
 * ({@code kind 'd'}, body null). Immutable.
 *
 * @param tx the inserting transaction's xid8 (see {@link LateTransactions})
 * @param createdAtMillis when the publishing transaction started, epoch milliseconds (the AMQP timestamp)
 */
public record OutboxRow(
    long id,
    long tx,
    char kind,
    String exchange,
    String routingKey,
    String body,
    int deliveryMode,
    String contentType,
    String replyTo,
    String correlationId,
    String messageId,
    long createdAtMillis,
    int attempts) {

  public static final char PUBLISH = 'p';
  public static final char DECLARE = 'd';

  public boolean isDeclaration() {
    return kind == DECLARE;
  }
}
