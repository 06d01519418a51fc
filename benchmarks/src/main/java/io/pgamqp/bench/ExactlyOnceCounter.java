package io.pgamqp.bench;

import com.rabbitmq.client.DeliverCallback;
import java.util.BitSet;

/**
 * Counts deliveries by {@code message_id} (the outbox id): first arrivals and duplicates. Thread-safe: the consumer
 * thread records, the harness thread reads.
 */
final class ExactlyOnceCounter {
  private final BitSet seen = new BitSet();
  private long received;
  private long duplicates;
  private long firstNanos;

  /** The consumer callback that records each delivery. */
  DeliverCallback callback() {
    return (tag, d) -> record(Integer.parseInt(d.getProperties().getMessageId()));
  }

  private synchronized void record(int id) {
    if (seen.get(id)) {
      duplicates++;
    } else {
      seen.set(id);
      if (received++ == 0) {
        firstNanos = System.nanoTime();
      }
    }
  }

  /** Distinct messages received. */
  synchronized long received() {
    return received;
  }

  /** System.nanoTime() of the first delivery, 0 before it. */
  synchronized long firstNanos() {
    return firstNanos;
  }

  synchronized long duplicates() {
    return duplicates;
  }
}
