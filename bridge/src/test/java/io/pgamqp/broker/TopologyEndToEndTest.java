package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.rabbitmq.client.Channel;
import io.pgamqp.faults.TcpProxy;
import io.pgamqp.testkit.AmqpEndpoint;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Route;
import io.pgamqp.testkit.TestServers;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Topology declared in SQL ({@code amqp.queue_declare}, {@code queue_bind}, {@code exchange_bind}, the unbinds and
 * {@code exchange_declare}'s arguments) → applied by the bridge before the messages published after it, again after
 * the connection is cut, its outcome in {@code amqp.topology}. Needs PostgreSQL and RabbitMQ (quorum queues,
 * alternate exchanges and exchange-to-exchange bindings are RabbitMQ's).
 */
@Tag("end-to-end")
@Timeout(180)
class TopologyEndToEndTest {

  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void aQuorumQueueDeclaredAndBoundInSqlReceivesMessagesAndIsDeclaredAgainAfterTheConnectionIsCut() throws Exception {
    TestServers.assumeRabbitMq();
    AmqpEndpoint broker = TestServers.get().amqp();
    try (TcpProxy proxy = new TcpProxy(broker.host(), broker.port());
        BridgeUnderTest t = BridgeUnderTest.prepare("topology_quorum", broker.withPort(proxy.port()))) {
      String exchange = t.amqp.uniqueName("topo-x");
      String queue = t.amqp.uniqueName("topo-quorum-q");
      try {
        t.startBridge(Map.of());
        List<Published.Message> first;
        try (Connection c = t.db.connect()) {
          c.setAutoCommit(false);
          exec(c, "select amqp.exchange_declare(?, ?, 'direct', false, true)", t.brokerId, exchange);
          exec(c, "select amqp.queue_declare(?, ?, arguments => '{\"x-queue-type\": \"quorum\"}')", t.brokerId, queue);
          exec(c, "select amqp.queue_bind(?, ?, ?, 'orders')", t.brokerId, queue, exchange);
          // In the same transaction: the queue and its binding must exist before these reach the exchange.
          first = Published.inTransaction(c, t.brokerId, exchange, "orders", Published.bodies("first", 20));
          c.commit();
        }
        t.awaitOutboxEmpty(WAIT); // the test cannot consume from the queue before the bridge declared it
        Deliveries.drain(t.amqp, queue, first.size(), WAIT).assertExactly(first);
        assertEquals(0, t.deadLetters());
        assertTrue(isQuorum(t, queue), "declared with x-queue-type quorum");
        Eventually.until("exchange, queue and binding applied", WAIT, () -> List.of("exchange applied",
            "queue applied", "queue_binding applied").equals(topology(t)));
        assertEquals(1, t.db.queryLong("select count(*) from amqp.topology where kind = 'queue_binding' and name = ?"
            + " and source = ? and routing_key = 'orders' and applied_at is not null and last_error is null",
            queue, exchange));

        // The broker loses the queue (as it would a non-replicated one in a node's crash); after the bridge's
        // connection is cut it declares and binds it again.
        deleteQueue(t, queue);
        assertFalse(queueExists(t, queue));
        int before = proxy.acceptedConnections();
        proxy.cutAll();
        Eventually.until("the bridge reconnected", WAIT, () -> proxy.acceptedConnections() > before);
        Eventually.until("queue " + queue + " declared again", WAIT, () -> queueExists(t, queue));
        assertTrue(isQuorum(t, queue), "declared again as a quorum queue");
        List<Published.Message> later =
            Published.commit(t.db, t.brokerId, exchange, "orders", Published.bodies("later", 20));
        Deliveries.drain(t.amqp, queue, later.size(), WAIT).assertExactly(later);
        assertEquals(0, t.deadLetters());
      } finally {
        deleteQueue(t, queue);
        t.amqp.deleteExchange(exchange);
      }
    }
  }

  @Test
  void exchangeBindingsAlternateExchangesAndUnbindsRouteAsDeclared() throws Exception {
    TestServers.assumeRabbitMq();
    try (BridgeUnderTest t = BridgeUnderTest.start("topology_routes")) {
      String source = t.amqp.uniqueName("topo-src");
      String destination = t.amqp.uniqueName("topo-dst");
      String main = t.amqp.uniqueName("topo-main");
      String alternate = t.amqp.uniqueName("topo-ae");
      String routed = t.amqp.uniqueName("topo-routed-q");
      String unrouted = t.amqp.uniqueName("topo-unrouted-q");
      try {
        try (Connection c = t.db.connect()) {
          c.setAutoCommit(false);
          exec(c, "select amqp.exchange_declare(?, ?, 'topic', false, false)", t.brokerId, source);
          exec(c, "select amqp.exchange_declare(?, ?, 'fanout', false, false)", t.brokerId, destination);
          exec(c, "select amqp.exchange_bind(?, ?, ?, 'orders.#')", t.brokerId, destination, source);
          exec(c, "select amqp.queue_declare(?, ?, false)", t.brokerId, routed);
          exec(c, "select amqp.queue_bind(?, ?, ?)", t.brokerId, routed, destination);
          exec(c, "select amqp.exchange_declare(?, ?, 'fanout', false, false)", t.brokerId, alternate);
          exec(c, "select amqp.queue_declare(?, ?, false)", t.brokerId, unrouted);
          exec(c, "select amqp.queue_bind(?, ?, ?)", t.brokerId, unrouted, alternate);
          exec(c, "select amqp.exchange_declare(?, ?, 'direct', false, false, false, jsonb_build_object("
              + "'alternate-exchange', ?::text))", t.brokerId, main, alternate);
          c.commit();
        }
        t.awaitOutboxEmpty(WAIT); // the test cannot consume from the queues before the bridge declared them
        // Through two exchanges: source (topic) → destination (fanout) → queue.
        List<Published.Message> viaBinding =
            Published.commit(t.db, t.brokerId, source, "orders.new", Published.bodies("via", 10));
        Deliveries.drain(t.amqp, routed, viaBinding.size(), WAIT).assertExactly(viaBinding);
        // Nothing bound to main: the alternate exchange takes what main cannot route (no basic.return, no dead letter).
        List<Published.Message> toAlternate =
            Published.commit(t.db, t.brokerId, main, "nobody", Published.bodies("ae", 10));
        Deliveries.drain(t.amqp, unrouted, toAlternate.size(), WAIT).assertExactly(toAlternate);
        assertEquals(0, t.deadLetters());
        assertEquals(1, t.db.queryLong("select count(*) from amqp.topology where kind = 'exchange' and name = ?"
            + " and arguments = jsonb_build_object('alternate-exchange', ?::text)", main, alternate));

        // exchange_unbind: source no longer feeds destination; what it gets is unroutable (dead-lettered).
        t.db.exec("select amqp.exchange_unbind(?, ?, ?, 'orders.#')", t.brokerId, destination, source);
        Published.commit(t.db, t.brokerId, source, "orders.new", List.of("after-exchange-unbind"));
        Eventually.until("the message after the exchange unbind dead-lettered", WAIT, () -> t.deadLetters() == 1);
        // queue_unbind: destination no longer feeds the queue.
        t.db.exec("select amqp.queue_unbind(?, ?, ?)", t.brokerId, routed, destination);
        Published.commit(t.db, t.brokerId, destination, "", List.of("after-queue-unbind"));
        Eventually.until("the message after the queue unbind dead-lettered", WAIT, () -> t.deadLetters() == 2);
        t.awaitOutboxEmpty(WAIT);
        assertEquals(List.of(), Deliveries.drain(t.amqp, routed, 0, Duration.ofSeconds(1)).bodies());
        assertEquals(2, t.db.queryLong("select count(*) from amqp.dead_letter where reason like 'unroutable%'"));
        // Applied unbinds take their binding's record with them: reconnects no longer bind it.
        assertEquals(0, t.db.queryLong("select count(*) from amqp.topology where kind like '%bind%' and name in (?, ?)",
            destination, routed));
        assertEquals(1, t.db.queryLong("select count(*) from amqp.topology where kind = 'queue_binding' and name = ?",
            unrouted));
      } finally {
        deleteQueue(t, routed);
        deleteQueue(t, unrouted);
        for (String x : List.of(source, destination, main, alternate)) {
          t.amqp.deleteExchange(x);
        }
      }
    }
  }

  @Test
  void aRefusedRedeclarationIsFailedInTheBrokersWordsMessagesFlowAndItIsNotAppliedAgainAtReconnect() throws Exception {
    TestServers.assumeRabbitMq();
    AmqpEndpoint broker = TestServers.get().amqp();
    try (TcpProxy proxy = new TcpProxy(broker.host(), broker.port());
        BridgeUnderTest t = BridgeUnderTest.prepare("topology_refused", broker.withPort(proxy.port()))) {
      String refused = t.amqp.uniqueName("topo-ttl-q");
      String fine = t.amqp.uniqueName("topo-fine-q");
      try {
        t.startBridge(Map.of());
        Route r = Route.declare(t.amqp, "topology_refused");
        // A number, sent as one: RabbitMQ refuses an x-message-ttl of type longstr.
        t.db.exec("select amqp.queue_declare(?, ?, arguments => '{\"x-message-ttl\": 60000}')", t.brokerId, refused);
        t.db.exec("select amqp.queue_declare(?, ?, false, true)", t.brokerId, fine);
        Eventually.until("both queues applied", WAIT, () -> List.of("queue applied", "queue applied").equals(topology(t)));

        // The same queue with another TTL: 406 PRECONDITION_FAILED, in the broker's words; the messages go on.
        List<Published.Message> sent = new ArrayList<>();
        try (Connection c = t.db.connect()) {
          c.setAutoCommit(false);
          exec(c, "select amqp.queue_declare(?, ?, arguments => '{\"x-message-ttl\": 1000}')", t.brokerId, refused);
          sent.addAll(Published.inTransaction(c, t.brokerId, r.exchange(), r.routingKey(), Published.bodies("same-tx", 5)));
          c.commit();
        }
        sent.addAll(Published.commit(t.db, t.brokerId, r.exchange(), r.routingKey(), Published.bodies("after", 20)));
        Deliveries.drain(t.amqp, r.queue(), sent.size(), WAIT).assertExactly(sent);
        Eventually.until("the redeclaration failed", WAIT, () -> "failed".equals(status(t, refused)));
        String error = text(t, "select last_error from amqp.topology where name = ?", refused);
        assertTrue(error.contains("PRECONDITION_FAILED") && error.contains("x-message-ttl") && error.contains("406"),
            error);
        assertEquals("{\"x-message-ttl\": 1000}", text(t, "select arguments::text from amqp.topology where name = ?",
            refused));
        t.awaitOutboxEmpty(WAIT);
        assertEquals(0, t.deadLetters());

        // A reconnect re-applies what was applied (fine's applied_at moves) but not the refused one.
        String failedAt = text(t, "select applied_at::text from amqp.topology where name = ?", refused);
        String fineAt = text(t, "select applied_at::text from amqp.topology where name = ?", fine);
        int before = proxy.acceptedConnections();
        proxy.cutAll();
        Eventually.until("the bridge reconnected", WAIT, () -> proxy.acceptedConnections() > before);
        Eventually.until("the connect-time pass re-applied " + fine, WAIT,
            () -> !fineAt.equals(text(t, "select applied_at::text from amqp.topology where name = ?", fine)));
        assertEquals("failed", status(t, refused));
        assertEquals(failedAt, text(t, "select applied_at::text from amqp.topology where name = ?", refused),
            "not applied again");
        assertEquals(error, text(t, "select last_error from amqp.topology where name = ?", refused));
        List<Published.Message> reconnected =
            Published.commit(t.db, t.brokerId, r.exchange(), r.routingKey(), Published.bodies("reconnected", 10));
        Deliveries.drain(t.amqp, r.queue(), reconnected.size(), WAIT).assertExactly(reconnected);

        // A new call resets it: with the arguments the queue has, it is applied.
        t.db.exec("select amqp.queue_declare(?, ?, arguments => '{\"x-message-ttl\": 60000}')", t.brokerId, refused);
        Eventually.until("the corrected declaration applied", WAIT, () -> "applied".equals(status(t, refused)));
        assertEquals(null, text(t, "select last_error from amqp.topology where name = ?", refused));
      } finally {
        deleteQueue(t, refused);
        deleteQueue(t, fine);
      }
    }
  }

  /**
   * An unbind waiting in the outbox when the bridge connects is applied in its turn, not by the connect-time pass:
   * the message published before it still finds the binding, the one after it does not.
   */
  @Test
  void aPendingUnbindIsAppliedInOutboxOrderNotBeforeTheMessagesAheadOfIt() throws Exception {
    TestServers.assumeRabbitMq();
    try (BridgeUnderTest t = BridgeUnderTest.prepare("topology_unbind_order")) {
      Route r = Route.declare(t.amqp, "topology_unbind_order"); // bound by the test's client, unbound from SQL
      List<Published.Message> before =
          Published.commit(t.db, t.brokerId, r.exchange(), r.routingKey(), Published.bodies("before", 5));
      t.db.exec("select amqp.queue_unbind(?, ?, ?, ?)", t.brokerId, r.queue(), r.exchange(), r.routingKey());
      Published.commit(t.db, t.brokerId, r.exchange(), r.routingKey(), List.of("after"));
      assertEquals(List.of("queue_unbind pending"), topology(t));

      t.startBridge(Map.of()); // its connect-time pass sees the pending unbind
      t.awaitOutboxEmpty(WAIT);
      Deliveries.drain(t.amqp, r.queue(), before.size(), WAIT).assertExactly(before);
      assertEquals(1, t.deadLetters());
      assertEquals(1, t.db.queryLong("select count(*) from amqp.dead_letter where body = 'after'"
          + " and reason like 'unroutable%'"));
      assertEquals(List.of(), topology(t), "the applied unbind's row is gone");
    }
  }

  /** "kind status" of every row of amqp.topology, in kind order (exchange first). */
  private static List<String> topology(BridgeUnderTest t) throws SQLException {
    List<String> rows = new ArrayList<>();
    try (Connection c = t.db.connect();
        PreparedStatement ps = c.prepareStatement("select kind || ' ' || status from amqp.topology where broker_id = ?"
            + " order by kind <> 'exchange', kind <> 'queue', kind, name")) {
      ps.setInt(1, t.brokerId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          rows.add(rs.getString(1));
        }
      }
    }
    return rows;
  }

  private static String status(BridgeUnderTest t, String queue) throws SQLException {
    return text(t, "select status from amqp.topology where kind = 'queue' and name = ?", queue);
  }

  private static String text(BridgeUnderTest t, String sql, String arg) throws SQLException {
    try (Connection c = t.db.connect(); PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, arg);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  private static void exec(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      ps.execute();
    }
  }

  private static boolean queueExists(BridgeUnderTest t, String queue) {
    try (Channel probe = t.amqp.channel().getConnection().createChannel()) {
      probe.queueDeclarePassive(queue);
      return true;
    } catch (IOException e) {
      return false; // 404: the broker closed the probe channel
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A quorum queue: redeclaring it with x-queue-type quorum is accepted, with classic refused (406). Both probes on
   * throwaway channels.
   */
  private static boolean isQuorum(BridgeUnderTest t, String queue) throws Exception {
    try (Channel same = t.amqp.channel().getConnection().createChannel()) {
      same.queueDeclare(queue, true, false, false, Map.of("x-queue-type", "quorum"));
    }
    Channel other = t.amqp.channel().getConnection().createChannel();
    IOException refused = assertThrows(IOException.class,
        () -> other.queueDeclare(queue, true, false, false, Map.of("x-queue-type", "classic")));
    assertNotEquals(null, refused.getCause());
    return String.valueOf(refused.getCause().getMessage()).contains("x-queue-type");
  }

  private static void deleteQueue(BridgeUnderTest t, String queue) {
    try (Channel ch = t.amqp.channel().getConnection().createChannel()) {
      ch.queueDelete(queue);
    } catch (Exception ignored) {
      // not there (RabbitMQ accepts deleting a missing queue) or the broker went away
    }
  }
}
