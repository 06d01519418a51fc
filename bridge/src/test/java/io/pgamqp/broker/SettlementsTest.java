package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgamqp.broker.ConfirmingPublisher.Outcome;
import io.pgamqp.outbox.OutboxBatch;
import io.pgamqp.outbox.OutboxRow;
import io.pgamqp.outbox.Settlement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link Settlements}: what each answer of the broker does to its outbox row. No servers. */
class SettlementsTest {
  private static final int MAX_ATTEMPTS = 3;

  private static OutboxRow row(long id, char kind, int attempts) {
    return new OutboxRow(id, 1, kind, "x" + id, "k", kind == OutboxRow.PUBLISH ? "{}" : null, 2, null, null, null,
        "m" + id, 0, attempts);
  }

  private static Settlement settle(List<OutboxRow> rows, Outcome[] outcomes, String[] reasons, boolean drop) {
    return Settlements.from(1, new ConfirmingPublisher.Published(new OutboxBatch(rows), outcomes, reasons),
        MAX_ATTEMPTS, drop);
  }

  /** One row per case: where it ends up (deleted, retried, dead, none) and with which reason. */
  @ParameterizedTest(name = "{0} (kind {1}, attempts before {2}, drop {3}) -> {4}, retry {6}")
  @CsvSource(nullValues = "null", value = {
      // outcome, kind, attempts, drop unroutable, bucket, reason recorded, retry needed
      "CONFIRMED,      p, 0, false, deleted, null, false",
      "CONFIRMED,      p, 2, true,  deleted, null, false",
      "RETURNED,       p, 0, false, dead,    why,  false", // unroutable: dead-lettered at once, no retry
      "RETURNED,       p, 0, true,  deleted, null, false", // on_unroutable = drop
      "NACKED,         p, 0, false, retried, why,  true",
      "NACKED,         p, 1, false, retried, why,  true",
      "NACKED,         p, 2, false, dead,    why (gave up after 3 attempts), true",
      "TIMED_OUT,      p, 0, true,  retried, why,  true",
      "TIMED_OUT,      p, 5, false, dead,    why (gave up after 6 attempts), true",
      "FAILED,         p, 0, false, retried, why,  true",
      "FAILED,         p, 2, false, dead,    why (gave up after 3 attempts), true",
      "NOT_SENT,       p, 0, false, none,    null, true", // not sent: no attempt used up, resent in order
      "NOT_SENT,       p, 9, false, none,    null, true",
      "DECLARED,       d, 0, false, declared, null, false",
      "DECLARE_FAILED, d, 0, false, declared, why,  false"})
  void eachAnswerSettlesItsRow(Outcome outcome, char kind, int attempts, boolean drop, String bucket, String reason,
      boolean retry) {
    OutboxRow r = row(7, kind, attempts);
    Settlement s = settle(List.of(r), new Outcome[] {outcome}, new String[] {outcome == Outcome.CONFIRMED
        || outcome == Outcome.DECLARED || outcome == Outcome.NOT_SENT ? null : "why"}, drop);
    List<Long> none = List.of();
    List<Settlement.Failed> noFailed = List.of();
    List<Settlement.Failed> one = List.of(new Settlement.Failed(7, reason));
    assertEquals(bucket.equals("deleted") || bucket.equals("declared") ? List.of(7L) : none, s.deleted());
    assertEquals(bucket.equals("retried") ? one : noFailed, s.retried());
    assertEquals(bucket.equals("dead") ? one : noFailed, s.deadLettered());
    assertEquals(bucket.equals("declared") ? List.of(new Settlement.Declaration("x7", reason)) : List.of(),
        s.declarations());
    assertEquals(retry, s.retryNeeded());
  }

  @Test
  void aMixedBatchKeepsRowOrderInEachList() {
    List<OutboxRow> rows = List.of(row(1, 'p', 0), row(2, 'p', 0), row(3, 'd', 0), row(4, 'p', 2), row(5, 'p', 0),
        row(6, 'p', 0));
    Outcome[] outcomes = {Outcome.CONFIRMED, Outcome.NACKED, Outcome.DECLARED, Outcome.TIMED_OUT,
        Outcome.RETURNED, Outcome.CONFIRMED};
    String[] reasons = {null, "nack", null, "late", "unroutable", null};
    Settlement s = settle(rows, outcomes, reasons, false);
    assertEquals(List.of(1L, 3L, 6L), s.deleted());
    assertEquals(List.of(new Settlement.Failed(2, "nack")), s.retried());
    assertEquals(List.of(new Settlement.Failed(4, "late (gave up after 3 attempts)"),
        new Settlement.Failed(5, "unroutable")), s.deadLettered());
    assertEquals(List.of(new Settlement.Declaration("x3", null)), s.declarations());
    assertEquals(true, s.retryNeeded());
  }

  /** A kind 't' row names its amqp.topology_declaration row in its body; its outcome is recorded by that id. */
  @Test
  void queueAndBindingDeclarationsAreSettledByTheirRecordsId() {
    OutboxRow applied = new OutboxRow(1, 1, OutboxRow.TOPOLOGY, "q", "", "41", 2, null, null, null, "1", 0, 0);
    OutboxRow refused = new OutboxRow(2, 1, OutboxRow.TOPOLOGY, "q", "", "42", 2, null, null, null, "2", 0, 0);
    OutboxRow lost = new OutboxRow(3, 1, OutboxRow.TOPOLOGY, "q", "", "43", 2, null, null, null, "3", 0, 0);
    Settlement s = settle(List.of(applied, refused, lost, row(4, 'd', 0)),
        new Outcome[] {Outcome.DECLARED, Outcome.DECLARE_FAILED, Outcome.NOT_SENT, Outcome.DECLARED},
        new String[] {null, "406", "connection lost", null}, false);
    assertEquals(List.of(1L, 2L, 4L), s.deleted());
    assertEquals(List.of(new Settlement.Topology(41, null), new Settlement.Topology(42, "406")), s.topology());
    assertEquals(List.of(new Settlement.Declaration("x4", null)), s.declarations());
    assertEquals(true, s.retryNeeded(), "a declaration the lost connection interrupted is applied again, in order");
  }

  @Test
  void aRowWithoutAnAnswerIsABug() {
    assertThrows(IllegalStateException.class,
        () -> settle(List.of(row(1, 'p', 0)), new Outcome[] {null}, new String[1], false));
  }
}
