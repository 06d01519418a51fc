package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.testkit.BridgeProcess;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Route;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * SIGTERM while messages are in flight: the bridge stops claiming, lets the in-flight confirms settle, and exits 0;
 * the next bridge sends the rest, and nothing is sent twice. Needs PostgreSQL and an AMQP broker.
 */
@Tag("end-to-end")
@Timeout(180)
class GracefulStopEndToEndTest {

  @Test
  void sigtermMidBacklogExitsZeroAndTheNextBridgeFinishesWithoutDuplicates() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.prepare("graceful_stop")) {
      Route r = Route.declare(t.amqp, "graceful");
      List<Published.Message> backlog = new ArrayList<>();
      for (int tx = 0; tx < 3; tx++) {
        backlog.addAll(Published.commit(t.db, t.brokerId, r.exchange(), r.routingKey(),
            Published.bodies("backlog-" + tx, 10_000)));
      }

      long left;
      try (BridgeProcess first = BridgeProcess.start(t.db, "graceful-first", Map.of())) {
        Eventually.until("the first bridge settled part of the backlog", Duration.ofSeconds(60),
            () -> t.outboxRows() < backlog.size());
        int exit = first.terminate(Duration.ofSeconds(60));
        assertEquals(0, exit, () -> "exit code; log:\n" + first.log());
        assertTrue(first.log().contains("broker " + t.brokerId + ": stopped"), first::log);
        // The log says why it stopped, not Akka's "reason [UnknownReason]".
        assertTrue(first.log().contains("pgamqp bridge stopping: SIGTERM"), first::log);
        assertTrue(first.log().contains("reason [SIGTERM]") && !first.log().contains("UnknownReason"), first::log);
        left = t.outboxRows();
      }
      System.out.println("graceful stop: " + left + " of " + backlog.size() + " rows left for the next bridge");
      assertTrue(left > 0, "the stop came after the whole backlog was sent: nothing was in flight to test");
      assertEquals(0, LockHolders.of(t.db, t.brokerId).size(), "the lock went with the stopped bridge");

      try (BridgeProcess second = BridgeProcess.start(t.db, "graceful-second", Map.of())) {
        Deliveries arrived = Deliveries.drain(t.amqp, r.queue(), backlog.size(), Duration.ofSeconds(90));
        arrived.assertExactly(backlog);
        t.awaitOutboxEmpty(Duration.ofSeconds(10));
        assertEquals(0, second.terminate(Duration.ofSeconds(60)), second::log);
      }
      assertEquals(0, t.deadLetters());
    }
  }
}
