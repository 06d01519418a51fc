package io.pgamqp.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.testkit.BridgeProcess;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.TestServers;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The bridge's request for wake-up notifications ({@code broker_state.bridge_waiting_until}) never outlives the bridge
 * by more than its lease: every publish NOTIFYs while it is set, halving the commit rate for nobody. A separate JVM,
 * asleep on LISTEN, then {@code kill -9} (the request lapses) or SIGTERM (it is withdrawn at once).
 */
@Tag("faults")
@Timeout(120)
class WakeupLeaseTest {
  private static final Duration LEASE = Duration.ofSeconds(3);
  private static final Map<String, String> SETTINGS = Map.of(
      "pgamqp.bridge.wakeup-lease", LEASE.toMillis() + "ms", "pgamqp.bridge.fallback-poll", "500ms");

  @Test
  void aBridgeKilledWhileAsleepStopsCostingPublishersWithinItsLease() throws Exception {
    try (FaultRig rig = FaultRig.create("lease-kill", TestServers.get().amqp());
        BridgeProcess bridge = BridgeProcess.start(rig.db, "lease-kill", SETTINGS)) {
      awaitAsleep(rig, bridge);
      // Asleep for several leases: the request is renewed, never lets go while the bridge lives.
      long asleepUntil = System.nanoTime() + LEASE.multipliedBy(3).toNanos();
      while (System.nanoTime() < asleepUntil) {
        assertTrue(waiting(rig), "the request lapsed while the bridge was alive and asleep");
        Thread.sleep(200);
      }
      rig.commit(1, 1); // wakes it; it drains, then falls asleep again
      rig.awaitAll(Duration.ofSeconds(30));
      awaitAsleep(rig, bridge);

      bridge.kill();
      long killed = System.nanoTime();
      Eventually.until("the request lapsed", LEASE.multipliedBy(3), () -> !waiting(rig));
      double lapsedAfter = (System.nanoTime() - killed) / 1e9;
      System.out.printf("wake-up request lapsed %.2f s after kill -9 (lease %d ms)%n", lapsedAfter, LEASE.toMillis());
      assertTrue(lapsedAfter <= LEASE.toMillis() / 1000.0 + 1.0, "lapsed after " + lapsedAfter + " s");
    }
  }

  @Test
  void aGracefulStopWithdrawsTheRequestAtOnce() throws Exception {
    try (FaultRig rig = FaultRig.create("lease-stop", TestServers.get().amqp());
        BridgeProcess bridge = BridgeProcess.start(rig.db, "lease-stop", SETTINGS)) {
      awaitAsleep(rig, bridge);
      assertEquals(0, bridge.terminate(Duration.ofSeconds(30)), bridge::log);
      assertTrue(!waiting(rig), "a bridge that stopped gracefully left its wake-up request behind");
    }
  }

  private static void awaitAsleep(FaultRig rig, BridgeProcess bridge) throws Exception {
    Eventually.until("the bridge sleeps on LISTEN\n" + bridge.log(), Duration.ofSeconds(60), () -> waiting(rig));
  }

  /** As publishers see it: amqp.status's bridge_waiting is what amqp.publish tests before it NOTIFYs. */
  private static boolean waiting(FaultRig rig) throws Exception {
    return rig.db.queryLong("select count(*) from amqp.status where broker_id = ? and bridge_waiting", rig.brokerId)
        == 1;
  }
}
