package io.pgamqp.faults;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.Bridge;
import io.pgamqp.testkit.AmqpEndpoint;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Tally;
import io.pgamqp.testkit.TestServers;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The network between the bridge and RabbitMQ breaks while publishers keep committing: the broker row points at a
 * {@link TcpProxy} that cuts every connection (RST), refuses new ones, adds latency, or black-holes traffic (no RST, so
 * only AMQP heartbeats notice). Afterwards nothing is lost, order holds per publisher, duplicates are counted and
 * bounded by the in-flight window per fault, and the outbox is empty. Needs PostgreSQL and an AMQP broker.
 */
@Tag("faults")
@Timeout(120)
class AmqpFaultsTest {
  /** (batches-in-flight + 2) x batch-size with the defaults: what one fault may send twice. */
  static final int WINDOW = (8 + 2) * 1000;

  @Test
  void cutsRefusalsAndLatencyLoseNothing() throws Exception {
    AmqpEndpoint broker = TestServers.get().amqp();
    try (TcpProxy proxy = new TcpProxy(broker.host(), broker.port());
        FaultRig rig = FaultRig.create("amqpcut", broker.withPort(proxy.port()))) {
      Bridge bridge = BridgeRunner.start(rig.db, Map.of("pgamqp.bridge.amqp-heartbeat", "2s"));
      try {
        long t0 = System.nanoTime();
        rig.startPublishers(2, 10_000, 100, 25);
        int faults = 0;
        for (int i = 0; i < 5; i++) { // RST mid-stream, repeatedly
          Thread.sleep(1_500);
          proxy.cutAll();
          faults++;
        }
        proxy.refuseNew(true); // the broker is "down" for 3 s
        proxy.cutAll();
        faults++;
        Thread.sleep(3_000);
        proxy.refuseNew(false);
        Thread.sleep(1_000);
        proxy.latency(Duration.ofMillis(20)); // a slow network for 3 s
        Thread.sleep(3_000);
        proxy.latency(Duration.ZERO);
        rig.awaitPublishers(Duration.ofSeconds(60));
        Tally tally = rig.awaitAll(Duration.ofSeconds(60));
        System.out.printf("amqp faults: %d RST cuts (one with new connections refused for 3 s), 20 ms latency for"
                + " 3 s, %d connections accepted: %s, %.1f s%n", faults, proxy.acceptedConnections(), tally,
            (System.nanoTime() - t0) / 1e9);
        tally.assertNothingLostInOrder();
        int allowed = faults * WINDOW;
        assertTrue(tally.duplicates() <= allowed, () -> "duplicates beyond the in-flight window: " + tally);
        assertTrue(proxy.acceptedConnections() > faults, "the bridge reconnected after every cut");
      } finally {
        bridge.close();
      }
    }
  }

  /**
   * A black-holed broker connection (no RST, no FIN: silence) is noticed through AMQP heartbeats
   * ({@code pgamqp.bridge.amqp-heartbeat} = 2 s here), abandoned and re-established once the network heals; what was
   * in flight is sent again. Prints the measured detection time.
   */
  @Test
  void blackholedConnectionIsNoticedByHeartbeatsAndReplaced() throws Exception {
    AmqpEndpoint broker = TestServers.get().amqp();
    try (TcpProxy proxy = new TcpProxy(broker.host(), broker.port());
        FaultRig rig = FaultRig.create("amqphole", broker.withPort(proxy.port()));
        LogWatch logs = new LogWatch()) {
      Bridge bridge = BridgeRunner.start(rig.db, Map.of("pgamqp.bridge.amqp-heartbeat", "2s"));
      try {
        rig.commit(500, 100);
        rig.awaitAll(Duration.ofSeconds(30));
        int acceptedBefore = proxy.acceptedConnections();
        // A backlog of 4 KB messages, so the black hole catches the bridge with full socket buffers, blocked in a
        // write, not only idle; and a publisher that keeps committing through it.
        rig.padBodies(4_096);
        rig.commit(5_000, 500);
        rig.padBodies(0);
        rig.startPublishers(1, 3_000, 100, 50);
        Eventually.until("draining the backlog", Duration.ofSeconds(20), () -> rig.arrivedCount() > 1_000);
        long t0 = System.nanoTime();
        proxy.blackhole(true);
        LogWatch.Line lost = logs.await("lost connection to", t0, 15_000);
        assertNotNull(lost, "the bridge noticed the black hole within 15 s");
        double detected = (lost.nanos() - t0) / 1e9;
        assertTrue(detected < 8, "noticed after " + detected + " s, expected about 2 x heartbeat (4 s)");
        // The client names the negotiated heartbeat: the setting reached the connection.
        assertTrue(lost.message().contains("Heartbeat missing with heartbeat = 2 seconds"), lost.message());
        Eventually.until("a new connection attempt", Duration.ofSeconds(10),
            () -> proxy.acceptedConnections() > acceptedBefore);
        Thread.sleep(1_000);
        long healed = System.nanoTime();
        proxy.blackhole(false);
        LogWatch.Line back = logs.await("connected to", healed, 20_000);
        assertNotNull(back, "reconnected after the network healed");
        double reconnected = (back.nanos() - healed) / 1e9;
        rig.awaitPublishers(Duration.ofSeconds(30));
        Tally tally = rig.awaitAll(Duration.ofSeconds(60));
        System.out.printf("amqp black hole: heartbeat 2 s, dead connection noticed after %.1f s (%s),"
            + " reconnected %.1f s after the network healed: %s%n", detected, lost.message(), reconnected, tally);
        tally.assertNothingLostInOrder();
        assertTrue(tally.duplicates() <= WINDOW, () -> "duplicates beyond the in-flight window: " + tally);
      } finally {
        bridge.close();
      }
    }
  }

  /**
   * A confirm timeout that fires before heartbeats notice a black hole: the stream restarts and closes the old channel,
   * whose close-ok never comes. Regression: that close ran on the supervisor's actor thread, blocked it until the
   * heartbeat gave up, then threw and crashed the supervisor ("ERROR BrokerRegistry - connection error").
   */
  @Test
  void confirmTimeoutOnABlackholedLinkDoesNotBlockOrCrashTheSupervisor() throws Exception {
    AmqpEndpoint broker = TestServers.get().amqp();
    try (TcpProxy proxy = new TcpProxy(broker.host(), broker.port());
        FaultRig rig = FaultRig.create("amqptimeout", broker.withPort(proxy.port()));
        LogWatch logs = new LogWatch()) {
      Bridge bridge = BridgeRunner.start(rig.db, Map.of(
          "pgamqp.bridge.amqp-heartbeat", "4s",
          "pgamqp.bridge.confirm-timeout", "1s"));
      try {
        rig.commit(500, 100);
        rig.awaitAll(Duration.ofSeconds(30));
        long t0 = System.nanoTime();
        proxy.blackhole(true);
        rig.commit(1_000, 100);
        assertNotNull(logs.await("no publisher confirm within 1000 ms", t0, 10_000), "a confirm timed out first");
        LogWatch.Line lost = logs.await("Heartbeat missing with heartbeat = 4 seconds", t0, 20_000);
        assertNotNull(lost, "heartbeats noticed the black hole");
        Thread.sleep(500);
        proxy.blackhole(false);
        Tally tally = rig.awaitAll(Duration.ofSeconds(60));
        System.out.printf("amqp black hole after a confirm timeout: noticed after %.1f s: %s%n",
            (lost.nanos() - t0) / 1e9, tally);
        tally.assertNothingLostInOrder();
        // What timed out was retried, and the held originals reach the broker when the network heals: duplicates.
        assertTrue(tally.duplicates() <= WINDOW, () -> "duplicates beyond the in-flight window: " + tally);
        assertTrue(logs.errorsOf("BrokerRegistry").isEmpty(), () -> "supervisor crashed: " + logs.errorsOf(
            "BrokerRegistry"));
        assertTrue(logs.count("found in amqp.broker") <= 1, "the supervisor was not restarted");
      } finally {
        bridge.close();
      }
    }
  }
}
