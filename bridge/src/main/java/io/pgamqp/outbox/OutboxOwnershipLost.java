package io.pgamqp.outbox;

/** The claim fence found that this bridge no longer holds the broker's advisory lock: draining stops at once. */
public final class OutboxOwnershipLost extends RuntimeException {
  public OutboxOwnershipLost(int brokerId) {
    super("lost ownership of broker " + brokerId + " (its advisory lock is no longer held by our session)");
  }
}
