package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code amqp.exchange_declare} made in SQL → the bridge declares the exchange on the broker before any later message,
 * and again after a reconnect. Needs PostgreSQL and an AMQP broker (RabbitMQ, or the embedded Qpid fallback).
 */
@Tag("end-to-end")
@Timeout(120)
class ExchangeDeclareEndToEndTest {

  @Test
  void anExchangeDeclaredInSqlExistsBeforeTheMessagePublishedToItInTheSameTransaction() throws Exception {
    TestServers.assumeRabbitMq(); // the proof reads RabbitMQ's basic.return; Qpid nacks unroutable messages instead
    try (BridgeUnderTest t = BridgeUnderTest.start("declare_then_publish")) {
      String exchange = t.amqp.uniqueName("declared-x");
      String neverDeclared = t.amqp.uniqueName("passive-missing-x");
      try {
        declareThenPublish(t, exchange, neverDeclared);
      } finally {
        t.amqp.deleteExchange(exchange); // declared by the bridge, so the test client does not clean it up itself
      }
    }
  }

  private static void declareThenPublish(BridgeUnderTest t, String exchange, String neverDeclared) throws Exception {
    assertFalse(t.amqp.exchangeExists(exchange));
    List<Published.Message> probe;
    try (Connection c = t.db.connect()) {
      c.setAutoCommit(false);
      declare(c, t.brokerId, exchange, "direct", false);
      declare(c, t.brokerId, neverDeclared, "direct", true); // passive: only checks, must fail
      // No queue can be bound to an exchange that does not exist yet, so this message reaches no queue. What the
      // broker says about it shows the order: a 404 ("no exchange") had the message gone first; a basic.return
      // ("unroutable") means the exchange existed when the message got there.
      probe = Published.inTransaction(c, t.brokerId, exchange, "nobody-listens", List.of("probe"));
      c.commit();
    }
    t.awaitOutboxEmpty(Duration.ofSeconds(20));

    assertTrue(t.amqp.exchangeExists(exchange));
    assertEquals("declared", declarationStatus(t, exchange));
    assertEquals(1, t.db.queryLong("select count(*) from amqp.exchange_declaration where exchange = ?"
        + " and applied_at is not null and last_error is null", exchange));
    assertEquals("failed", declarationStatus(t, neverDeclared));
    assertEquals(1, t.db.queryLong("select count(*) from amqp.exchange_declaration where exchange = ?"
        + " and last_error <> ''", neverDeclared)); // in the broker's words (RabbitMQ: NOT_FOUND)
    assertFalse(t.amqp.exchangeExists(neverDeclared));

    assertEquals(1, t.deadLetters());
    assertEquals(1, t.db.queryLong("select count(*) from amqp.dead_letter where outbox_id = ? and exchange = ?"
        + " and reason like 'unroutable%' and attempts = 1", probe.get(0).id(), exchange),
        "the first and only attempt found the exchange declared (a publish before the declaration fails with 404)");

    // Now that it exists a queue can be bound; what is published to it arrives.
    String queue = t.amqp.uniqueName("declared-q");
    t.amqp.declareQueue(queue);
    t.amqp.bind(queue, exchange, "key");
    List<Published.Message> sent = Published.commit(t.db, t.brokerId, exchange, "key", Published.bodies("m", 20));
    Deliveries.drain(t.amqp, queue, sent.size(), Duration.ofSeconds(20)).assertExactly(sent);
  }

  @Test
  void declarationsAreAppliedAgainAfterAReconnect() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("declare_reconnect")) {
      String exchange = t.amqp.uniqueName("redeclared-x");
      try {
        declareLoseAndReconnect(t, exchange);
      } finally {
        t.amqp.deleteExchange(exchange);
      }
    }
  }

  private static void declareLoseAndReconnect(BridgeUnderTest t, String exchange) throws Exception {
    try (Connection c = t.db.connect()) {
      c.setAutoCommit(false);
      declare(c, t.brokerId, exchange, "fanout", false);
      c.commit();
    }
    Eventually.until("exchange " + exchange + " declared", Duration.ofSeconds(20),
        () -> "declared".equals(declarationStatus(t, exchange)));
    // The status may come from the bridge's connect-time pass while the queued declaration row is still pending;
    // once the outbox is empty nothing will declare it again behind the test's back.
    t.awaitOutboxEmpty(Duration.ofSeconds(20));
    assertTrue(t.amqp.exchangeExists(exchange));

    // The broker loses it (as a non-durable exchange is lost by a broker restart); a reconnect restores it.
    t.amqp.deleteExchange(exchange);
    Eventually.until("exchange " + exchange + " deleted", Duration.ofSeconds(10),
        () -> !t.amqp.exchangeExists(exchange));
    t.db.exec("select amqp.disconnect(?)", t.brokerId);
    Eventually.until("exchange " + exchange + " declared again after the reconnect", Duration.ofSeconds(20),
        () -> t.amqp.exchangeExists(exchange));

    String queue = t.amqp.uniqueName("redeclared-q");
    t.amqp.declareQueue(queue);
    t.amqp.bind(queue, exchange, "");
    List<Published.Message> sent = Published.commit(t.db, t.brokerId, exchange, "any", Published.bodies("m", 10));
    Deliveries.drain(t.amqp, queue, sent.size(), Duration.ofSeconds(20)).assertExactly(sent);
    assertEquals(0, t.deadLetters());
  }

  private static void declare(Connection c, int brokerId, String exchange, String type, boolean passive)
      throws Exception {
    try (PreparedStatement ps = c.prepareStatement("select amqp.exchange_declare(?, ?, ?, ?, false, false)")) {
      ps.setInt(1, brokerId);
      ps.setString(2, exchange);
      ps.setString(3, type);
      ps.setBoolean(4, passive);
      ps.execute();
    }
  }

  private static String declarationStatus(BridgeUnderTest t, String exchange) throws Exception {
    try (Connection c = t.db.connect();
        PreparedStatement ps = c.prepareStatement(
            "select status from amqp.exchange_declaration where broker_id = ? and exchange = ?")) {
      ps.setInt(1, t.brokerId);
      ps.setString(2, exchange);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }
}
