package io.pgamqp.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.Bridge;
import io.pgamqp.testkit.BridgeProcess;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.OwnerGauges;
import io.pgamqp.testkit.PgBouncer;
import io.pgamqp.testkit.Tally;
import io.pgamqp.testkit.TestServers;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The bridge behind a real PgBouncer (pool_mode = transaction): a session URL through the pooler is refused at
 * start-up; with the pools through PgBouncer and the session URL direct, two bridges hand a broker over after
 * {@code kill -9} of the owner, never both owning it, while publishers commit through PgBouncer. Needs PostgreSQL,
 * an AMQP broker and the {@code pgbouncer} package.
 */
@Tag("faults")
@Timeout(240)
class PgBouncerTest {
  private static final String OWNS = KillNineTest.OWNS;

  @Test
  void sessionUrlThroughATransactionPoolerIsRefused() throws Exception {
    assertRefused("transaction", "as a transaction-mode pooler does");
  }

  @Test
  void sessionUrlThroughAStatementPoolerIsRefused() throws Exception {
    assertRefused("statement", "as a statement-mode pooler does");
  }

  private static void assertRefused(String poolMode, String why) throws Exception {
    try (FaultRig rig = FaultRig.create("pgb_refuse", TestServers.get().amqp());
        PgBouncer bouncer = PgBouncer.start(poolMode)) {
      rig.commit(10, 10);
      // Only pgamqp.db.url is set: the session URL defaults to it.
      try (BridgeProcess bridge = BridgeProcess.start(rig.db, "pgb-refused", Map.of(),
          Map.of("PGAMQP_DB_URL", bouncer.jdbcUrl(rig.db.name())))) {
        assertEquals(2, bridge.awaitExit(Duration.ofSeconds(60)), bridge::log);
        assertTrue(bridge.log().contains("setting pgamqp.db.session-url"), bridge::log);
        assertTrue(bridge.log().contains(why), bridge::log);
        assertFalse(bridge.log().contains(OWNS), bridge::log);
      }
      assertEquals(10, rig.outboxRows(), "a refused bridge claims nothing");
    }
  }

  @Test
  void killNineOfTheOwnerWithPoolsThroughPgBouncerHandsOverToOneOwner() throws Exception {
    try (FaultRig rig = FaultRig.create("pgb_kill9", TestServers.get().amqp());
        PgBouncer bouncer = PgBouncer.start("transaction")) {
      String pooled = bouncer.jdbcUrl(rig.db.name());
      // PgJDBC's named server-side statements do not survive PgBouncer 1.18 in transaction mode: applications set
      // prepareThreshold=0. The bridge gets the plain URL: it does that for its pool itself.
      rig.publishThrough(pooled + "?prepareThreshold=0");
      rig.commit(20_000, 500);
      Map<String, String> env = Map.of("PGAMQP_DB_URL", pooled, "PGAMQP_DB_SESSION_URL", rig.db.jdbcUrl());
      int[] ports = {OwnerGauges.freePort(), OwnerGauges.freePort()};
      BridgeProcess[] bridges = new BridgeProcess[2];
      OwnerGauges gauges = null;
      try {
        for (int i = 0; i < 2; i++) {
          bridges[i] = BridgeProcess.start(rig.db, "pgb-" + i,
              Map.of("pgamqp.http.port", Integer.toString(ports[i])), env);
        }
        Eventually.until("one bridge owns the broker", Duration.ofSeconds(60),
            () -> bridges[0].log().contains(OWNS) || bridges[1].log().contains(OWNS));
        int owner = bridges[0].log().contains(OWNS) ? 0 : 1;
        int standby = 1 - owner;
        gauges = OwnerGauges.start(List.of(ports[0], ports[1]), rig.brokerId);
        OwnerGauges sampled = gauges;
        // Publishers keep committing (through PgBouncer) for several seconds, through the kill and the hand-over.
        rig.startPublishers(2, 3_000, 10, 20);

        Eventually.until("the owner settled part of the backlog, sampled", Duration.ofSeconds(60),
            () -> rig.outboxRows() < 16_000 && sampled.samples() >= 10);
        bridges[owner].kill();
        long killedAt = System.nanoTime();
        assertTrue(bridges[standby].awaitLog(OWNS, Duration.ofSeconds(15)),
            () -> "the standby did not own the broker within 15 s of the kill:\n" + bridges[standby].log());
        double handOver = (System.nanoTime() - killedAt) / 1e9;

        rig.awaitPublishers(Duration.ofSeconds(90));
        Tally tally = rig.awaitAll(Duration.ofSeconds(90));
        tally.assertNothingLostInOrder();
        gauges.close();
        System.out.printf("PgBouncer kill -9: hand-over %.1f s; %s; %s%n", handOver, gauges, tally);
        assertEquals(0, gauges.twoOwners(), "samples in which both bridges reported owning the broker");
        assertTrue(gauges.samples() > 20, "too few samples: " + gauges);
        assertEquals(1, bridges[standby].count(OWNS), "the standby took the broker once");
      } finally {
        if (gauges != null) {
          gauges.close();
        }
        for (BridgeProcess b : bridges) {
          if (b != null) {
            b.close();
          }
        }
      }
    }
  }

  /**
   * The claim fence through the pooler: claims run on whatever server connection PgBouncer lends, and still check
   * pg_locks for the lock session's pid. With the ownership check slowed to 20 s, the fence notices first that the
   * lock session was terminated: draining stops at once and the lock is retaken.
   */
  @Test
  void claimsThroughPgBouncerAreFencedOnTheLockSession() throws Exception {
    try (FaultRig rig = FaultRig.create("pgb_fence", TestServers.get().amqp());
        PgBouncer bouncer = PgBouncer.start("transaction");
        LogWatch logs = new LogWatch()) {
      Bridge bridge = BridgeRunner.start(rig.db, Map.of("pgamqp.db.url", bouncer.jdbcUrl(rig.db.name()),
          "pgamqp.db.session-url", rig.db.jdbcUrl(), "pgamqp.bridge.ownership-check", "20s",
          "pgamqp.bridge.batch-size", "100"));
      try {
        Eventually.until("the bridge owns the broker", Duration.ofSeconds(20),
            () -> DatabaseFaultsTest.lockHolders(rig).size() == 1);
        int firstPid = DatabaseFaultsTest.lockHolders(rig).get(0);
        rig.publishThrough(bouncer.jdbcUrl(rig.db.name()) + "?prepareThreshold=0");
        rig.startPublishers(2, 5_000, 100, 5);
        Eventually.until("draining under way", Duration.ofSeconds(20), () -> rig.arrivedCount() > 2_000);
        long t0 = System.nanoTime();
        rig.db.exec("select pg_catalog.pg_terminate_backend(?)", firstPid);
        LogWatch.Line fenced = logs.await("no longer the owner", t0, 10_000);
        assertNotNull(fenced, "a claim through PgBouncer was fenced");
        double after = (fenced.nanos() - t0) / 1e9;
        assertTrue(after < 3, "fenced after " + after + " s");
        LogWatch.Line checked = logs.first("lost the database session", t0);
        assertTrue(checked == null || checked.nanos() > fenced.nanos(), "the claim fence, not the session check");
        // A standby retries the lock every ownership-check: within 20 s here.
        Eventually.until("the lock retaken by a new session", Duration.ofSeconds(35),
            () -> DatabaseFaultsTest.lockHolders(rig).size() == 1
                && DatabaseFaultsTest.lockHolders(rig).get(0) != firstPid);
        rig.awaitPublishers(Duration.ofSeconds(60));
        Tally tally = rig.awaitAll(Duration.ofSeconds(60));
        System.out.printf("PgBouncer claim fence: lock session killed, fenced after %.2f s: %s%n", after, tally);
        tally.assertNothingLostInOrder();
      } finally {
        bridge.close();
      }
    }
  }
}
