package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Delivery;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Route;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Savepoint;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * SQL {@code amqp.publish} → in-process bridge → a real queue: what arrives, how often, in which order, with which
 * properties; what a rollback takes with it; and rows whose transaction commits after later ones were sent. Needs
 * PostgreSQL and an AMQP broker (RabbitMQ, or the embedded Qpid fallback).
 */
@Tag("end-to-end")
@Timeout(120)
class DeliveryEndToEndTest {

  @Test
  void twelveThousandMessagesArriveExactlyOnceInIdOrderAndTheOutboxEndsEmpty() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("delivery_bulk")) {
      Route r = Route.declare(t.amqp, "bulk");
      List<Published.Message> published = new ArrayList<>();
      for (int tx = 0; tx < 3; tx++) {
        published.addAll(Published.commit(t.db, t.brokerId, r.exchange(), r.routingKey(),
            Published.bodies("bulk-" + tx, 4_000)));
      }

      Deliveries arrived = Deliveries.drain(t.amqp, r.queue(), published.size(), Duration.ofSeconds(90));

      arrived.assertExactly(published);
      t.awaitOutboxEmpty(Duration.ofSeconds(10));
      assertEquals(0, t.deadLetters());
    }
  }

  @Test
  void rolledBackPublishesAndRolledBackSavepointsNeverArrive() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("delivery_rollback")) {
      Route r = Route.declare(t.amqp, "rollback");
      List<Published.Message> markers = new ArrayList<>();
      List<String> rolledBack = List.of("rolled-back-1", "rolled-back-2", "savepoint-1", "savepoint-2");

      markers.addAll(publish(t, r, "marker-1"));
      try (Connection c = t.db.connect()) {
        c.setAutoCommit(false);
        Published.inTransaction(c, t.brokerId, r.exchange(), r.routingKey(), rolledBack.subList(0, 2));
        c.rollback();

        markers.addAll(Published.inTransaction(c, t.brokerId, r.exchange(), r.routingKey(), List.of("marker-2")));
        Savepoint undone = c.setSavepoint();
        Published.inTransaction(c, t.brokerId, r.exchange(), r.routingKey(), rolledBack.subList(2, 4));
        c.rollback(undone);
        Savepoint kept = c.setSavepoint();
        markers.addAll(Published.inTransaction(c, t.brokerId, r.exchange(), r.routingKey(), List.of("marker-3")));
        c.releaseSavepoint(kept);
        c.commit();
      }
      markers.addAll(publish(t, r, "marker-4"));

      // The markers have larger ids than every rolled-back row would have had, and the bridge sends in id order:
      // once the last marker is in (plus the drain's quiet period), nothing rolled back can still be on its way.
      Deliveries arrived = Deliveries.drain(t.amqp, r.queue(), markers.size(), Duration.ofSeconds(20));

      arrived.assertNoneOf(rolledBack);
      arrived.assertExactly(markers);
      t.awaitOutboxEmpty(Duration.ofSeconds(10));
    }
  }

  @Test
  void autonomousPublishArrivesThoughTheCallersTransactionRollsBack() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("delivery_autonomous")) {
      Route r = Route.declare(t.amqp, "autonomous");
      Deliveries whileOpen;
      try (Connection c = t.db.connect()) {
        c.setAutoCommit(false);
        Published.inTransaction(c, t.brokerId, r.exchange(), r.routingKey(), List.of("in-caller-transaction"));
        try (PreparedStatement ps = c.prepareStatement("select amqp.autonomous_publish(?, ?, ?, ?)")) {
          ps.setInt(1, t.brokerId);
          ps.setString(2, r.exchange());
          ps.setString(3, r.routingKey());
          ps.setString(4, "autonomous");
          ps.execute();
        }
        // Committed on its own: it is sent while the caller's transaction is still open.
        whileOpen = Deliveries.drain(t.amqp, r.queue(), 1, Duration.ofSeconds(20));
        c.rollback();
      }
      List<Published.Message> marker = publish(t, r, "marker");
      Deliveries after = Deliveries.drain(t.amqp, r.queue(), 1, Duration.ofSeconds(20));

      assertEquals(List.of("autonomous"), whileOpen.bodies());
      Deliveries all = whileOpen.and(after);
      all.assertNoneOf(List.of("in-caller-transaction"));
      all.assertBodiesExactlyOnce(List.of("autonomous", "marker"));
      assertEquals(String.valueOf(marker.get(0).id()), after.only().getProperties().getMessageId());
      t.awaitOutboxEmpty(Duration.ofSeconds(10));
    }
  }

  @Test
  void propertiesAndBodyArriveAsPublished() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("delivery_properties")) {
      Route r = Route.declare(t.amqp, "properties");
      String unicode = "grüße, ✓ 日本語 🎉 \"quoted\" \\ back\nslash";
      String json = "{\"order\": 42}";
      long publishedAtMillis;
      List<Published.Message> sent = new ArrayList<>();
      try (Connection c = t.db.connect()) {
        c.setAutoCommit(false);
        publishedAtMillis = transactionStart(c).getTime(); // amqp.outbox.created_at = now() of this transaction
        sent.add(Published.one(c, t.brokerId, r.exchange(), r.routingKey(), unicode, null, null, null, null));
        sent.add(Published.one(c, t.brokerId, r.exchange(), r.routingKey(), json, 1, "application/json",
            "reply-queue", "corr-42"));
        sent.add(Published.one(c, t.brokerId, r.exchange(), r.routingKey(), "", 2, "text/plain", null, null));
        c.commit();
      }

      Deliveries arrived = Deliveries.drain(t.amqp, r.queue(), 3, Duration.ofSeconds(20));
      arrived.assertExactly(sent);

      Delivery defaults = arrived.list().get(0);
      AMQP.BasicProperties p = defaults.getProperties();
      assertArrayEquals(unicode.getBytes(StandardCharsets.UTF_8), defaults.getBody());
      assertEquals(2, p.getDeliveryMode(), "delivery_mode defaults to persistent");
      assertNull(p.getContentType());
      assertNull(p.getReplyTo());
      assertNull(p.getCorrelationId());
      assertEquals(String.valueOf(sent.get(0).id()), p.getMessageId());
      assertEquals(r.exchange(), defaults.getEnvelope().getExchange());
      assertEquals(r.routingKey(), defaults.getEnvelope().getRoutingKey());
      // AMQP timestamps have whole seconds: created_at truncated, so at most a second before.
      long timestamp = p.getTimestamp().getTime();
      assertTrue(Math.abs(timestamp - publishedAtMillis) <= 1_000,
          "timestamp " + p.getTimestamp().toInstant() + " should be the publish time " + publishedAtMillis);

      Delivery all = arrived.list().get(1);
      AMQP.BasicProperties q = all.getProperties();
      assertArrayEquals(json.getBytes(StandardCharsets.UTF_8), all.getBody());
      assertEquals(1, q.getDeliveryMode());
      assertEquals("application/json", q.getContentType());
      assertEquals("reply-queue", q.getReplyTo());
      assertEquals("corr-42", q.getCorrelationId());
      assertEquals(String.valueOf(sent.get(1).id()), q.getMessageId());
      assertEquals(p.getTimestamp(), q.getTimestamp(), "same transaction, same created_at");

      Delivery empty = arrived.list().get(2);
      assertEquals(0, empty.getBody().length);
      assertEquals(2, empty.getProperties().getDeliveryMode());
      assertEquals("text/plain", empty.getProperties().getContentType());
      assertEquals(String.valueOf(sent.get(2).id()), empty.getProperties().getMessageId());
    }
  }

  @Test
  void aTransactionCommittingAfterLaterIdsWereSentIsStillDelivered() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("delivery_late_commit")) {
      Route r = Route.declare(t.amqp, "late");
      try (Connection a = t.db.connect()) {
        a.setAutoCommit(false);
        List<Published.Message> late = Published.inTransaction(a, t.brokerId, r.exchange(), r.routingKey(),
            List.of("late-x"));
        List<Published.Message> early = Published.commit(t.db, t.brokerId, r.exchange(), r.routingKey(),
            List.of("early-y", "early-z"));
        assertTrue(late.get(0).id() < early.get(0).id(), "x took its id first");

        Deliveries first = Deliveries.drain(t.amqp, r.queue(), 2, Duration.ofSeconds(20));
        first.assertExactly(early); // the bridge's cursor is now past x's id
        a.commit();

        // Well under stranded-after (10 s): found by the late-transaction sweep, not by the fallback scan.
        Deliveries second = Deliveries.drain(t.amqp, r.queue(), 1, Duration.ofSeconds(5));
        second.assertExactly(late);
      }
      t.awaitOutboxEmpty(Duration.ofSeconds(10));
    }
  }

  /**
   * The late transaction took its xid after the early one but its id before it. A claim snapshot lists running xids
   * only below its xmax (the newest completed xid + 1), so until something newer completes the late transaction is
   * invisible without being listed as running: the bridge must still know to come back for its row.
   */
  @Test
  void aTransactionWithANewerXidButAnOlderIdCommittingLateIsStillDelivered() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("delivery_late_xid")) {
      Route r = Route.declare(t.amqp, "late-xid");
      // Start from a bridge asleep on LISTEN: it then writes nothing (which would take a newer xid) until woken.
      List<Published.Message> warmUp = publish(t, r, "warm-up");
      Deliveries.drain(t.amqp, r.queue(), 1, Duration.ofSeconds(20)).assertExactly(warmUp);
      Eventually.until("the bridge waits for notifications", Duration.ofSeconds(10),
          () -> t.db.queryLong("select count(*) from amqp.broker_state where bridge_waiting_until > now()") == 1);
      try (Connection early = t.db.connect(); Connection late = t.db.connect()) {
        early.setAutoCommit(false);
        late.setAutoCommit(false);
        long earlyXid = currentXid(early);
        List<Published.Message> x = Published.inTransaction(late, t.brokerId, r.exchange(), r.routingKey(),
            List.of("late-x"));
        assertTrue(currentXid(late) > earlyXid, "the late transaction has the newer xid");
        List<Published.Message> y = Published.inTransaction(early, t.brokerId, r.exchange(), r.routingKey(),
            List.of("early-y"));
        assertTrue(x.get(0).id() < y.get(0).id(), "and the older id");
        early.commit();

        Deliveries.drain(t.amqp, r.queue(), 1, Duration.ofSeconds(20)).assertExactly(y);
        late.commit();

        // Well under stranded-after (10 s): found by the late-transaction sweep, not by the fallback scan.
        Deliveries.drain(t.amqp, r.queue(), 1, Duration.ofSeconds(5)).assertExactly(x);
      }
      t.awaitOutboxEmpty(Duration.ofSeconds(10));
    }
  }

  private static long currentXid(Connection c) throws Exception {
    try (PreparedStatement ps = c.prepareStatement("select pg_current_xact_id()::text");
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      return Long.parseLong(rs.getString(1));
    }
  }

  private static List<Published.Message> publish(BridgeUnderTest t, Route r, String body) throws Exception {
    return Published.commit(t.db, t.brokerId, r.exchange(), r.routingKey(), List.of(body));
  }

  private static Timestamp transactionStart(Connection c) throws Exception {
    try (PreparedStatement ps = c.prepareStatement("select now()"); ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getTimestamp(1);
    }
  }
}
