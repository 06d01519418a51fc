package io.pgamqp.badinput;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.Bridge;
import io.pgamqp.testkit.AmqpTestClient;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Route;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A body between our limit and the broker's: max_body_bytes raised above RabbitMQ's max_message_size (128 MiB by
 * default), one message of 128 MiB + 1 byte. RabbitMQ closes the channel (406) for it: that message alone is
 * dead-lettered with the broker's reason after max-attempts; its neighbours, before and after, arrive.
 */
@Tag("end-to-end")
@Timeout(240)
class OversizedBodyEndToEndTest {
  private static final int RABBIT_MAX = 128 * 1024 * 1024;

  @Test
  void aBodyAboveTheBrokersMessageSizeLimitIsDeadLetteredAndItsNeighboursArrive() throws Exception {
    TestServers.assumeRabbitMq();
    try (TestDatabase db = TestServers.get().createDatabase("oversized");
         AmqpTestClient amqp = new AmqpTestClient();
         Bridge bridge = BridgeRunner.start(db, Map.of("pgamqp.bridge.max-attempts", 2))) {
      int id = db.insertBroker();
      Route route = Route.declare(amqp, "oversized");
      db.exec("update amqp.broker_state set max_body_bytes = ? where broker_id = ?", RABBIT_MAX + 1024, id);
      Harness.publish(db, id, route.exchange(), Harness.bodies("before", 20));
      db.exec("select amqp.publish(?, ?, 'k', repeat('x', ?))", id, route.exchange(), RABBIT_MAX + 1);
      Harness.publish(db, id, route.exchange(), Harness.bodies("after", 20));
      List<String> expected = new ArrayList<>(Harness.bodies("before", 20));
      expected.addAll(Harness.bodies("after", 20));

      List<String> arrived = Harness.drainBodies(amqp, route.queue(), 40, Duration.ofSeconds(120));
      assertEquals(expected, arrived);
      Eventually.until("the big one is dead-lettered", Duration.ofSeconds(60),
          () -> db.queryLong("select count(*) from amqp.dead_letter") == 1);
      String reason = Harness.text(db, "select reason || ' attempts=' || attempts || ' bytes=' || octet_length(body)"
          + " from amqp.dead_letter");
      assertTrue(reason.contains("message size") && reason.contains("406") && reason.contains("attempts=2")
          && reason.contains("bytes=" + (RABBIT_MAX + 1)), reason);
      assertEquals(0, db.queryLong("select count(*) from amqp.outbox"));
    }
  }
}
