package io.pgamqp.badinput;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.Bridge;
import io.pgamqp.testkit.AmqpEndpoint;
import io.pgamqp.testkit.AmqpTestClient;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Route;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A broker row that is wrong, edited or removed while messages wait; declarations the broker refuses; a flood of
 * disconnect requests. Each ends with a reason in amqp.status or amqp.exchange_declaration and no message lost or
 * stuck.
 */
@Tag("end-to-end")
@Timeout(180)
class BrokerProblemsEndToEndTest {

  private record Setup(TestDatabase db, AmqpTestClient amqp, Route route) implements AutoCloseable {
    static Setup create(String prefix) throws Exception {
      TestDatabase db = TestServers.get().createDatabase(prefix);
      AmqpTestClient amqp = new AmqpTestClient();
      return new Setup(db, amqp, Route.declare(amqp, prefix));
    }

    String lastError(int id) throws Exception {
      return String.valueOf(Harness.text(db, "select last_error from amqp.status where broker_id = ?", id));
    }

    @Override
    public void close() {
      try {
        amqp.close();
      } finally {
        db.close();
      }
    }
  }

  private static int closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Test
  void anUnreachableHostBacksOffWithTheReasonAndMessagesWaitUntilTheRowIsFixed() throws Exception {
    AmqpEndpoint real = TestServers.get().amqp();
    try (Setup s = Setup.create("unreachable");
         Bridge bridge = BridgeRunner.start(s.db())) {
      int id = s.db().insertBroker(real.withPort(closedPort()));
      Harness.publish(s.db(), id, s.route().exchange(), List.of("waited-1", "waited-2"));
      Eventually.until("amqp.status says the connection is refused", Duration.ofSeconds(20),
          () -> s.lastError(id).contains("refused"));
      assertEquals(2, s.db().queryLong("select count(*) from amqp.outbox"));
      s.db().exec("update amqp.broker set port = ? where broker_id = ?", real.port(), id);
      assertEquals(List.of("waited-1", "waited-2"),
          Harness.drainBodies(s.amqp(), s.route().queue(), 2, Duration.ofSeconds(30)));
    }
  }

  @Test
  void aVhostThatDoesNotExistIsNamedAndMessagesWaitUntilTheRowIsFixed() throws Exception {
    TestServers.assumeRabbitMq();
    AmqpEndpoint real = TestServers.get().amqp();
    try (Setup s = Setup.create("novhost");
         Bridge bridge = BridgeRunner.start(s.db())) {
      int id = s.db().insertBroker(new AmqpEndpoint(real.host(), real.port(), real.username(), real.password(),
          "no-such-vhost"));
      Harness.publish(s.db(), id, s.route().exchange(), List.of("vhost-waited"));
      Eventually.until("amqp.status names the vhost", Duration.ofSeconds(20),
          () -> s.lastError(id).contains("no-such-vhost"));
      s.db().exec("update amqp.broker set vhost = '/' where broker_id = ?", id);
      assertEquals(List.of("vhost-waited"),
          Harness.drainBodies(s.amqp(), s.route().queue(), 1, Duration.ofSeconds(30)));
    }
  }

  @Test
  void messagesOfADeletedBrokerAreKeptShownAndSentWhenItComesBack() throws Exception {
    AmqpEndpoint real = TestServers.get().amqp();
    try (Setup s = Setup.create("deleted_broker");
         Bridge bridge = BridgeRunner.start(s.db())) {
      int id = s.db().insertBroker(real.withPort(closedPort())); // messages pile up
      Harness.publish(s.db(), id, s.route().exchange(), Harness.bodies("kept", 10));
      s.db().exec("delete from amqp.broker where broker_id = ?", id);
      Eventually.until("amqp.status shows the removed broker's backlog", Duration.ofSeconds(10), () -> s.lastError(id)
          .contains("broker_id " + id + " was removed from amqp.broker; its messages wait in amqp.outbox"));
      assertEquals(10, s.db().queryLong("select backlog from amqp.status where broker_id = ?", id));
      Thread.sleep(1000);
      assertEquals(10, s.db().queryLong("select count(*) from amqp.outbox"), "nothing dropped");
      assertEquals(0, s.db().queryLong("select count(*) from amqp.dead_letter"));
      s.db().exec("insert into amqp.broker (broker_id, host, port, vhost, username, password) values (?, ?, ?, ?, ?, ?)",
          id, real.host(), real.port(), real.vhost(), real.username(), real.password());
      assertEquals(Harness.bodies("kept", 10),
          Harness.drainBodies(s.amqp(), s.route().queue(), 10, Duration.ofSeconds(30)));
    }
  }

  @Test
  void anExchangeRedeclaredWithAnotherTypeFailsWithTheBrokersTextAndTheStreamGoesOn() throws Exception {
    try (Setup s = Setup.create("redeclare");
         Bridge bridge = BridgeRunner.start(s.db())) {
      int id = s.db().insertBroker();
      String topic = s.amqp().uniqueName("redeclare-topic");
      s.amqp().declareExchange(topic, "topic");
      s.db().exec("select amqp.exchange_declare(?, ?, 'direct', false, false)", id, topic);
      Harness.publish(s.db(), id, s.route().exchange(), Harness.bodies("after", 20));
      assertEquals(Harness.bodies("after", 20),
          Harness.drainBodies(s.amqp(), s.route().queue(), 20, Duration.ofSeconds(30)));
      Eventually.until("the declaration failed", Duration.ofSeconds(10), () -> "failed".equals(Harness.text(s.db(),
          "select status from amqp.exchange_declaration where exchange = ?", topic)));
      String error = Harness.text(s.db(), "select last_error from amqp.exchange_declaration where exchange = ?", topic);
      assertTrue(error.contains("406") || error.contains("PRECONDITION_FAILED") || error.contains("inequivalent"),
          error);
      Eventually.until("the outbox is empty", Duration.ofSeconds(10),
          () -> s.db().queryLong("select count(*) from amqp.outbox") == 0);
    }
  }

  @Test
  void aPluginExchangeTypeTheBrokerDoesNotHaveFailsWithoutStallingTheStream() throws Exception {
    TestServers.assumeRabbitMq();
    try (Setup s = Setup.create("bad_type");
         Bridge bridge = BridgeRunner.start(s.db(), Map.of("pgamqp.bridge.max-attempts", 2))) {
      int id = s.db().insertBroker();
      String name = s.amqp().uniqueName("bogus-type");
      s.db().exec("select amqp.exchange_declare(?, ?, 'x-no-such-plugin', false, false)", id, name);
      Harness.publish(s.db(), id, s.route().exchange(), Harness.bodies("flows", 20));
      assertEquals(Harness.bodies("flows", 20),
          Harness.drainBodies(s.amqp(), s.route().queue(), 20, Duration.ofSeconds(40)));
      Eventually.until("the declaration failed", Duration.ofSeconds(20), () -> "failed".equals(Harness.text(s.db(),
          "select status from amqp.exchange_declaration where exchange = ?", name)));
      String error = Harness.text(s.db(), "select last_error from amqp.exchange_declaration where exchange = ?", name);
      assertTrue(error.contains("x-no-such-plugin"), error);
      // Still flowing afterwards (the failed declaration is not re-applied on every reconnect).
      Harness.publish(s.db(), id, s.route().exchange(), List.of("later"));
      assertEquals(List.of("later"), Harness.drainBodies(s.amqp(), s.route().queue(), 1, Duration.ofSeconds(30)));
    }
  }

  @Test
  void aThousandDisconnectRequestsAreCoalescedAndNothingIsLost() throws Exception {
    try (Setup s = Setup.create("disconnect_flood");
         Harness.LogCapture log = new Harness.LogCapture();
         Bridge bridge = BridgeRunner.start(s.db())) {
      int id = s.db().insertBroker();
      Harness.publish(s.db(), id, s.route().exchange(), List.of("warm-up"));
      assertEquals(List.of("warm-up"), Harness.drainBodies(s.amqp(), s.route().queue(), 1, Duration.ofSeconds(30)));
      List<String> expected = new ArrayList<>();
      try (java.sql.Connection c = s.db().connect();
           java.sql.PreparedStatement disconnect = c.prepareStatement("select amqp.disconnect(?)");
           java.sql.PreparedStatement publish = c.prepareStatement("select amqp.publish(?, ?, 'k', ?)")) {
        for (int i = 0; i < 1000; i++) { // each its own transaction: 1000 notifications
          disconnect.setInt(1, id);
          disconnect.executeQuery().close();
          if (i % 10 == 0) {
            publish.setInt(1, id);
            publish.setString(2, s.route().exchange());
            publish.setString(3, "during-" + i);
            publish.executeQuery().close();
            expected.add("during-" + i);
          }
        }
      }
      List<String> arrived = Harness.drainBodies(s.amqp(), s.route().queue(), 100, Duration.ofSeconds(60));
      assertTrue(arrived.containsAll(expected) && new java.util.HashSet<>(arrived).size() == expected.size(),
          () -> "arrived " + arrived.size() + ": " + arrived);
      Eventually.until("the outbox is empty", Duration.ofSeconds(20),
          () -> s.db().queryLong("select count(*) from amqp.outbox") == 0);
      long connects = log.text().lines().filter(l -> l.contains("broker " + id + ": connected to")).count();
      System.out.println("disconnect flood: 1000 requests -> " + connects + " connections");
      assertTrue(connects < 200, "thrashing: " + connects + " connections for 1000 requests");
    }
  }
}
