package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgamqp.broker.ConfirmingPublisher.Outcome;
import io.pgamqp.metrics.BridgeMetrics;
import io.pgamqp.outbox.OutboxBatch;
import io.pgamqp.outbox.OutboxRow;
import io.pgamqp.outbox.Settlement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** {@link BatchMetrics}: one settled batch's outcomes become the message counters. */
class BatchMetricsTest {

  /** Records every call as "name=value", summed per name. */
  private static final class Recorder implements BridgeMetrics {
    final Map<String, Long> counts = new TreeMap<>();

    private void add(String name, long n) {
      counts.merge(name, n, Long::sum);
    }

    @Override
    public void published(int brokerId, int messages) {
      add("published", messages);
    }

    @Override
    public void confirmed(int brokerId, int messages) {
      add("confirmed", messages);
    }

    @Override
    public void nacked(int brokerId, int messages) {
      add("nacked", messages);
    }

    @Override
    public void returned(int brokerId, int messages) {
      add("returned", messages);
    }

    @Override
    public void timedOut(int brokerId, int messages) {
      add("timedOut", messages);
    }

    @Override
    public void deadLettered(int brokerId, int messages) {
      add("deadLettered", messages);
    }

    @Override
    public void retried(int brokerId, int messages) {
      add("retried", messages);
    }

    @Override
    public void batchSize(int brokerId, int rows) {
      add("batchSize", rows);
    }
  }

  @Test
  void countsEachOutcome() {
    Outcome[] outcomes = {
        Outcome.CONFIRMED, Outcome.CONFIRMED, Outcome.CONFIRMED, Outcome.NACKED, Outcome.RETURNED, Outcome.TIMED_OUT,
        Outcome.FAILED, Outcome.NOT_SENT, Outcome.NOT_SENT, Outcome.DECLARED};
    List<OutboxRow> rows = new ArrayList<>();
    for (int i = 0; i < outcomes.length; i++) {
      rows.add(new OutboxRow(i + 1, 1, outcomes[i] == Outcome.DECLARED ? OutboxRow.DECLARE : OutboxRow.PUBLISH, "x",
          "k", "{}", 2, null, null, null, "m" + i, 0, 0));
    }
    ConfirmingPublisher.Published published =
        new ConfirmingPublisher.Published(new OutboxBatch(rows), outcomes, new String[outcomes.length]);
    // What Settlements.from would say with max-attempts 1 for the timed-out row and dead-lettering returns.
    Settlement settlement = new Settlement(List.of(1L, 2L, 3L, 10L),
        List.of(new Settlement.Failed(4, "nack"), new Settlement.Failed(7, "channel error")),
        List.of(new Settlement.Failed(5, "unroutable"), new Settlement.Failed(6, "gave up")), List.of(), true);
    Recorder recorder = new Recorder();

    BatchMetrics.record(recorder, 1, published, settlement);

    assertEquals(Map.of("batchSize", 10L, "published", 7L, "confirmed", 3L, "nacked", 1L, "returned", 1L,
        "timedOut", 1L, "deadLettered", 2L, "retried", 4L), recorder.counts);
  }

  @Test
  void anAllConfirmedBatchReportsOnlyWhatHappened() {
    List<OutboxRow> rows = List.of(
        new OutboxRow(1, 1, OutboxRow.PUBLISH, "x", "k", "{}", 2, null, null, null, "a", 0, 0),
        new OutboxRow(2, 1, OutboxRow.PUBLISH, "x", "k", "{}", 2, null, null, null, "b", 0, 0));
    Outcome[] outcomes = {Outcome.CONFIRMED, Outcome.CONFIRMED};
    Recorder recorder = new Recorder();

    BatchMetrics.record(recorder, 1, new ConfirmingPublisher.Published(new OutboxBatch(rows), outcomes,
        new String[2]), new Settlement(List.of(1L, 2L), List.of(), List.of(), List.of(), false));

    assertEquals(Map.of("batchSize", 2L, "published", 2L, "confirmed", 2L), recorder.counts);
  }
}
