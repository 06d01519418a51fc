package io.pgamqp.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.Bridge;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * No vacuum debt, scaled down from the benchmark's 2,000 msg/s for 3 minutes: with autovacuum off for the outbox and,
 * for most of the run, a REPEATABLE READ transaction holding the xmin horizon (so that not even VACUUM could free a
 * settled row), the outbox's files stay bounded and the lag short, and once the transaction ends they shrink to almost
 * nothing. Without the bridge's reclaim (amqp.outbox_reclaim) this run left 8.7 MB of dead rows that never shrink.
 */
@Tag("faults")
@Timeout(180)
class OutboxSizeTest {
  private static final long RECLAIM_ABOVE = 2L << 20;

  @Test
  void theOutboxStaysSmallWithoutVacuumWhileTheXminHorizonIsHeld() throws Exception {
    try (FaultRig rig = FaultRig.create("bounded", TestServers.get().amqp())) {
      rig.db.exec("alter table amqp.outbox set (autovacuum_enabled = false, toast.autovacuum_enabled = false)");
      rig.padBodies(300);
      Bridge bridge = BridgeRunner.start(rig.db, Map.of(
          "pgamqp.bridge.reclaim-interval", "1s", "pgamqp.bridge.reclaim-above", String.valueOf(RECLAIM_ABOVE)));
      try (Connection holder = rig.db.connect()) {
        rig.startPublishers(4, 6_000, 10, 20);
        Thread.sleep(1_000);
        holder.setAutoCommit(false);
        try (Statement st = holder.createStatement()) {
          st.execute("set transaction isolation level repeatable read");
          st.execute("select count(*) from amqp.broker"); // its snapshot, held: no row deleted from now on is vacuumable
        }
        double maxLag = 0;
        long maxBytes = 0;
        long heldUntil = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < heldUntil) {
          maxLag = Math.max(maxLag, lagSeconds(rig));
          maxBytes = Math.max(maxBytes, outboxBytes(rig));
          Thread.sleep(200);
        }
        holder.commit();
        rig.awaitPublishers(Duration.ofSeconds(60));
        assertEquals(24_000, rig.awaitAll(Duration.ofSeconds(60)).distinct(), "every message arrived");
        System.out.printf("outbox under a held xmin horizon: lag at most %.2f s, at most %d kB on disk%n",
            maxLag, maxBytes >> 10);
        assertTrue(maxLag < 2.0, "lag " + maxLag + " s");
        assertTrue(maxBytes < 3 * RECLAIM_ABOVE, "the outbox grew to " + maxBytes + " bytes");
        Eventually.until("the outbox back under reclaim-above", Duration.ofSeconds(30),
            () -> outboxBytes(rig) < RECLAIM_ABOVE);
      } finally {
        bridge.close();
      }
    }
  }

  private static double lagSeconds(FaultRig rig) throws Exception {
    return rig.db.queryLong("select (coalesce(extract(epoch from max(oldest_pending_age)), 0) * 1000)::bigint"
        + " from amqp.status") / 1000.0;
  }

  private static long outboxBytes(FaultRig rig) throws Exception {
    return rig.db.queryLong("select pg_total_relation_size('amqp.outbox')");
  }
}
