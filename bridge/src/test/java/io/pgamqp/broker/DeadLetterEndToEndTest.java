package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.testkit.Route;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Messages the broker will not take end in {@code amqp.dead_letter} (or, for unroutable ones when asked, are dropped)
 * without holding up or duplicating their neighbours. Needs PostgreSQL and an AMQP broker; the unroutable case needs
 * RabbitMQ.
 */
@Tag("end-to-end")
@Timeout(120)
class DeadLetterEndToEndTest {

  @Test
  void aMessageToAMissingExchangeIsHeldThenDeadLetteredAfterHoldTimeoutWhileItsNeighboursArrive() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("dead_letter_missing", Map.of("pgamqp.bridge.hold-timeout", "2s"))) {
      Route good = Route.declare(t.amqp, "good");
      String missing = t.amqp.uniqueName("missing-x");
      List<Published.Message> before =
          Published.commit(t.db, t.brokerId, good.exchange(), good.routingKey(), Published.bodies("before", 50));
      Deliveries.drain(t.amqp, good.queue(), before.size(), Duration.ofSeconds(20)).assertExactly(before);
      t.awaitOutboxEmpty(Duration.ofSeconds(10)); // confirmed and settled: none of them is in flight any more

      List<Published.Message> expected = new ArrayList<>();
      Published.Message bad;
      try (Connection c = t.db.connect()) {
        c.setAutoCommit(false);
        bad = Published.inTransaction(c, t.brokerId, missing, "key", List.of("to-missing")).get(0);
        expected.addAll(Published.inTransaction(c, t.brokerId, good.exchange(), good.routingKey(),
            Published.bodies("same-transaction", 50)));
        c.commit();
      }
      expected.addAll(
          Published.commit(t.db, t.brokerId, good.exchange(), good.routingKey(), Published.bodies("after", 50)));

      Deliveries arrived = Deliveries.drain(t.amqp, good.queue(), expected.size(), Duration.ofSeconds(30));
      arrived.assertExactly(expected);
      t.awaitOutboxEmpty(Duration.ofSeconds(15)); // the held message, once hold-timeout has passed
      assertEquals(1, t.deadLetters());
      assertEquals(1, t.db.queryLong("select count(*) from amqp.dead_letter where outbox_id = ?"
          + " and message_id = ? and exchange = ? and routing_key = 'key' and body = 'to-missing' and attempts = 1"
          + " and strpos(reason, ?) > 0", bad.id(), String.valueOf(bad.id()), missing, "'" + missing + "'"),
          () -> "dead letters: " + rowsAsText(t));
    }
  }

  @Test
  void anUnroutableMessageIsDeadLetteredOrDroppedAsBrokerStateSays() throws Exception {
    TestServers.assumeRabbitMq(); // basic.return for a mandatory message, then its ack: RabbitMQ's behaviour
    try (BridgeUnderTest t = BridgeUnderTest.start("dead_letter_unroutable")) {
      Route r = Route.declare(t.amqp, "unroutable");
      List<Published.Message> expected = new ArrayList<>();
      Published.Message unroutable;
      try (Connection c = t.db.connect()) {
        c.setAutoCommit(false);
        expected.addAll(Published.inTransaction(c, t.brokerId, r.exchange(), r.routingKey(), List.of("good-1")));
        unroutable = Published.inTransaction(c, t.brokerId, r.exchange(), "no-binding", List.of("unroutable"))
            .get(0);
        expected.addAll(Published.inTransaction(c, t.brokerId, r.exchange(), r.routingKey(), List.of("good-2")));
        c.commit();
      }
      Deliveries.drain(t.amqp, r.queue(), expected.size(), Duration.ofSeconds(20)).assertExactly(expected);
      t.awaitOutboxEmpty(Duration.ofSeconds(10));
      assertEquals(1, t.deadLetters());
      assertEquals(1, t.db.queryLong("select count(*) from amqp.dead_letter where outbox_id = ?"
          + " and routing_key = 'no-binding' and reason like 'unroutable%' and attempts = 1", unroutable.id()),
          () -> "dead letters: " + rowsAsText(t));

      // Switched to 'drop' while the bridge runs: it must take effect without a restart.
      t.db.exec("update amqp.broker_state set on_unroutable = 'drop' where broker_id = ?", t.brokerId);
      long deadBefore = t.deadLetters();
      int probes = 0;
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (true) {
        Published.commit(t.db, t.brokerId, r.exchange(), "no-binding", List.of("probe-" + probes++));
        t.awaitOutboxEmpty(Duration.ofSeconds(10));
        long dead = t.deadLetters();
        if (dead == deadBefore) {
          break; // this probe was dropped: the setting is in force
        }
        deadBefore = dead;
        assertTrue(System.nanoTime() < deadline, "on_unroutable = 'drop' not in force after 20 s (" + probes
            + " probes dead-lettered)");
        Thread.sleep(200);
      }

      List<Published.Message> later;
      try (Connection c = t.db.connect()) {
        c.setAutoCommit(false);
        Published.inTransaction(c, t.brokerId, r.exchange(), "no-binding", List.of("dropped"));
        later = Published.inTransaction(c, t.brokerId, r.exchange(), r.routingKey(), List.of("good-3"));
        c.commit();
      }
      Deliveries.drain(t.amqp, r.queue(), 1, Duration.ofSeconds(20)).assertExactly(later);
      t.awaitOutboxEmpty(Duration.ofSeconds(10));
      assertEquals(deadBefore, t.deadLetters(), "a dropped message leaves no dead letter");
      assertEquals(0, t.db.queryLong("select count(*) from amqp.dead_letter where body = 'dropped'"));
    }
  }

  private static String rowsAsText(BridgeUnderTest t) {
    try (Connection c = t.db.connect();
        var rs = c.createStatement().executeQuery(
            "select outbox_id, exchange, routing_key, attempts, reason from amqp.dead_letter order by id")) {
      StringBuilder sb = new StringBuilder();
      while (rs.next()) {
        sb.append('[').append(rs.getLong(1)).append(' ').append(rs.getString(2)).append(' ').append(rs.getString(3))
            .append(" attempts=").append(rs.getInt(4)).append(" reason=").append(rs.getString(5)).append("] ");
      }
      return sb.toString();
    } catch (Exception e) {
      return "(cannot read amqp.dead_letter: " + e + ")";
    }
  }
}
