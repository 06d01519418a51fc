package io.pgamqp.broker;

import io.pgamqp.metrics.BridgeMetrics;
import io.pgamqp.outbox.Settlement;

/**
 * Reports one settled batch to {@link BridgeMetrics}: its size and, from the broker's answers and the settlement
 * derived from them, how many messages were published, confirmed, nacked, returned, timed out, dead-lettered and
 * left to retry. Call once per batch, after {@code Settlements.from} (and before or after the store's settle: the
 * counts do not depend on it). The confirm latency is not here: measure it around {@code ConfirmingPublisher.publish}.
 *
 * <p>Pure apart from the calls on {@code metrics}; allocation-free; thread-safe.
 */
final class BatchMetrics {
  private BatchMetrics() {}

  static void record(
      BridgeMetrics metrics, int brokerId, ConfirmingPublisher.Published published, Settlement settlement) {
    int confirmed = 0;
    int nacked = 0;
    int returned = 0;
    int timedOut = 0;
    int failed = 0;
    int notSent = 0;
    for (ConfirmingPublisher.Outcome o : published.outcomes()) {
      switch (o) {
        case CONFIRMED -> confirmed++;
        case NACKED -> nacked++;
        case RETURNED -> returned++;
        case TIMED_OUT -> timedOut++;
        case FAILED -> failed++;
        case NOT_SENT -> notSent++;
        case DECLARED, DECLARE_FAILED -> { } // exchange declarations, not messages
      }
    }
    metrics.batchSize(brokerId, published.batch().size());
    // NOT_SENT also covers messages sent before their channel closed; they cannot be told apart here.
    int sent = confirmed + nacked + returned + timedOut + failed;
    if (sent > 0) {
      metrics.published(brokerId, sent);
    }
    if (confirmed > 0) {
      metrics.confirmed(brokerId, confirmed);
    }
    if (nacked > 0) {
      metrics.nacked(brokerId, nacked);
    }
    if (returned > 0) {
      metrics.returned(brokerId, returned);
    }
    if (timedOut > 0) {
      metrics.timedOut(brokerId, timedOut);
    }
    int dead = settlement.deadLettered().size();
    if (dead > 0) {
      metrics.deadLettered(brokerId, dead);
    }
    int retried = settlement.retried().size() + notSent;
    if (retried > 0) {
      metrics.retried(brokerId, retried);
    }
  }
}
