package io.pgamqp.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.pgamqp.Bridge;
import io.pgamqp.badinput.Harness;
import io.pgamqp.testkit.AmqpTestClient;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Route;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The bridge runs end to end as a LOGIN role whose only privileges come from membership in amqp_bridge: it claims,
 * publishes, deletes, dead-letters (missing exchange, unroutable), applies declarations, writes its status and
 * samples the backlog without a single "permission denied".
 */
@Tag("end-to-end")
@Timeout(120)
class BridgeRoleEndToEndTest {

  @Test
  void theBridgeWorksWithOnlyTheAmqpBridgeRole() throws Exception {
    TestServers.assumeRabbitMq(); // the unroutable case relies on RabbitMQ's basic.return
    try (Roles role = new Roles("amqp_bridge")) {
      try (TestDatabase db = TestServers.get().createDatabase("bridge_role");
           AmqpTestClient amqp = new AmqpTestClient();
           Harness.LogCapture log = new Harness.LogCapture()) {
        int id = db.insertBroker();
        Route route = Route.declare(amqp, "role");
        String declared = amqp.uniqueName("role-declared");
        String unbound = amqp.uniqueName("role-unbound");
        String declaredQueue = amqp.uniqueName("role-declared-q");
        amqp.declareExchange(unbound, "direct");
        try (Bridge bridge = BridgeRunner.start(db, Map.of("pgamqp.db.user", role.name, "pgamqp.db.password", "",
            "pgamqp.bridge.max-attempts", 1, "pgamqp.bridge.progress-interval", "200ms",
            // 0: the missing exchange is held and its message dead-lettered at once (the role records the hold)
            "pgamqp.bridge.hold-timeout", "0"))) {
          db.exec("select amqp.exchange_declare(?, ?, 'fanout', false, false, true)", id, declared);
          // Queues and bindings: the role reads, records and (for an applied unbind) deletes their rows.
          db.exec("select amqp.queue_declare(?, ?, false)", id, declaredQueue);
          db.exec("select amqp.queue_bind(?, ?, ?, 'kept')", id, declaredQueue, route.exchange());
          db.exec("select amqp.queue_bind(?, ?, ?, 'dropped')", id, declaredQueue, route.exchange());
          db.exec("select amqp.queue_unbind(?, ?, ?, 'dropped')", id, declaredQueue, route.exchange());
          Harness.publish(db, id, route.exchange(), Harness.bodies("ok", 100));
          assertEquals(Harness.bodies("ok", 100), Harness.drainBodies(amqp, route.queue(), 100, Duration.ofSeconds(30)));
          Harness.publish(db, id, amqp.uniqueName("role-missing"), List.of("to-missing"));
          Harness.publish(db, id, unbound, List.of("unroutable"));
          Harness.publish(db, id, route.exchange(), List.of("last"));
          // At least once: a message in flight when the missing exchange closed the channel is sent again.
          assertEquals(List.of("last"), Harness.drainBodies(amqp, route.queue(), 1, Duration.ofSeconds(30))
              .stream().distinct().toList());
          Eventually.until("the outbox is empty", Duration.ofSeconds(20),
              () -> db.queryLong("select count(*) from amqp.outbox") == 0);
          assertEquals(2, db.queryLong("select count(*) from amqp.dead_letter"));
          assertEquals(1, db.queryLong("select count(*) from amqp.dead_letter where reason like '%unroutable%'"));
          assertEquals(1, db.queryLong("select count(*) from amqp.held_destination where expired"));
          assertEquals("declared", Harness.text(db,
              "select status from amqp.exchange_declaration where exchange = ?", declared));
          assertEquals("queue applied,queue_binding applied", Harness.text(db, "select string_agg(kind || ' ' || status,"
              + " ',' order by kind) from amqp.topology where name = ?", declaredQueue));
          Eventually.until("the bridge's report is written", Duration.ofSeconds(10), () -> Harness.text(db,
              "select owner || ' ' || connected_to || ' ' || last_confirm_at from amqp.status where broker_id = ?",
              id) != null);
          Thread.sleep(500); // a backlog sample or two
          amqp.deleteExchange(declared);
          amqp.channel().queueDelete(declaredQueue);
        }
        String logged = log.text();
        assertFalse(logged.contains("permission denied"), logged);
        assertFalse(logged.contains("42501"), logged);
      }
    }
  }
}
