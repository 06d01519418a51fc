package io.pgamqp.outbox;

import java.util.List;

/**
 * What to do with the rows of one published batch, derived from the broker's answers. Immutable.
 *
 * @param deleted rows confirmed (or consumed, like applied declarations) — removed from the outbox
 * @param retried rows that failed an attempt and stay for a later one, with the reason
 * @param deadLettered rows moved to {@code amqp.dead_letter}, with the reason
 * @param deferred rows the broker refused on their own account, set aside (amqp.scheduled) for their own retry
 * @param declarations outcomes of exchange declarations to record
 * @param topology outcomes of queue, binding and unbind declarations to record
 * @param retryNeeded true when some row was not confirmed: the stream restarts from the oldest pending row
 */
public record Settlement(
    List<Long> deleted,
    List<Failed> retried,
    List<Failed> deadLettered,
    List<Deferred> deferred,
    List<Declaration> declarations,
    List<Topology> topology,
    boolean retryNeeded) {

  /** A batch without queue or binding declarations, nothing deferred. */
  public Settlement(List<Long> deleted, List<Failed> retried, List<Failed> deadLettered, List<Declaration> declarations,
      boolean retryNeeded) {
    this(deleted, retried, deadLettered, List.of(), declarations, List.of(), retryNeeded);
  }

  public record Failed(long id, String reason) {}

  /** A row to send again after {@code delayMillis}, out of the others' way. */
  public record Deferred(long id, String reason, long delayMillis) {}

  /** @param error null when the declaration succeeded */
  public record Declaration(String exchange, String error) {}

  /**
   * @param id the {@code amqp.topology_declaration} row
   * @param error null when the broker applied it (an applied unbind's row is then deleted)
   */
  public record Topology(long id, String error) {}
}
