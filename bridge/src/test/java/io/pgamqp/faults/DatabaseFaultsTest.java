package io.pgamqp.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.Bridge;
import io.pgamqp.outbox.OwnershipLock;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Tally;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The network between the bridge and PostgreSQL breaks mid-drain: the bridge's {@code pgamqp.db.url} points at a
 * {@link TcpProxy} in front of 127.0.0.1:5432 (publishers and the test's checks go direct). Every DB connection is cut;
 * the DB is black-holed ({@code pgamqp.db.socket-timeout} = 2 s must make queries fail within seconds); the
 * advisory-lock session alone is killed (the claim fence must stop draining at once). Afterwards the bridge owns the
 * broker again through a new lock session, nothing is lost, order holds, duplicates are counted. Needs PostgreSQL and
 * an AMQP broker.
 */
@Tag("faults")
@Timeout(120)
class DatabaseFaultsTest {
  private static final String OWNS = "this bridge owns it now";

  private static Map<String, Object> settings(FaultRig rig, TcpProxy db) {
    return Map.of(
        "pgamqp.db.url", "jdbc:postgresql://127.0.0.1:" + db.port() + "/" + rig.db.name(),
        "pgamqp.db.socket-timeout", "2s",
        "pgamqp.db.connect-timeout", "2s",
        "pgamqp.bridge.amqp-heartbeat", "2s");
  }

  @Test
  void cuttingEveryDatabaseConnectionMidDrainLosesNothing() throws Exception {
    try (TcpProxy db = new TcpProxy("127.0.0.1", 5432);
        FaultRig rig = FaultRig.create("dbcut", io.pgamqp.testkit.TestServers.get().amqp());
        LogWatch logs = new LogWatch()) {
      Bridge bridge = BridgeRunner.start(rig.db, settings(rig, db));
      try {
        long t0 = System.nanoTime();
        Eventually.until("the bridge owns the broker", Duration.ofSeconds(20), () -> lockHolders(rig).size() == 1);
        int firstPid = lockHolders(rig).get(0);
        rig.startPublishers(2, 10_000, 100, 20);
        int cuts = 0;
        for (int i = 0; i < 3; i++) {
          Thread.sleep(2_000);
          db.cutAll();
          cuts++;
        }
        rig.awaitPublishers(Duration.ofSeconds(60));
        Tally tally = rig.awaitAll(Duration.ofSeconds(60));
        // Everything may have arrived before the bridge retook its lock after the last cut: recovery is owning again.
        Eventually.until("the bridge owns the broker again after the last cut", Duration.ofSeconds(20),
            () -> lockHolders(rig).size() == 1);
        List<Integer> holders = lockHolders(rig);
        System.out.printf("db cuts: %d cuts of every bridge->PostgreSQL connection, lock taken %d times: %s, %.1f s%n",
            cuts, logs.count(OWNS), tally, (System.nanoTime() - t0) / 1e9);
        tally.assertNothingLostInOrder();
        assertTrue(tally.duplicates() <= cuts * AmqpFaultsTest.WINDOW, () -> "too many duplicates: " + tally);
        assertEquals(1, holders.size(), "one lock session after recovery");
        assertNotEquals(firstPid, holders.get(0), "ownership was retaken through a new session");
      } finally {
        bridge.close();
      }
    }
  }

  @Test
  void blackholedDatabaseFailsWithinTheSocketTimeoutAndRecovers() throws Exception {
    try (TcpProxy db = new TcpProxy("127.0.0.1", 5432);
        FaultRig rig = FaultRig.create("dbhole", io.pgamqp.testkit.TestServers.get().amqp());
        LogWatch logs = new LogWatch()) {
      Bridge bridge = BridgeRunner.start(rig.db, settings(rig, db));
      try {
        rig.commit(1_000, 100);
        rig.awaitAll(Duration.ofSeconds(30));
        rig.startPublishers(1, 4_000, 100, 50);
        Thread.sleep(500);
        long t0 = System.nanoTime();
        db.blackhole(true);
        // The lock-session check or a claim/settle query must fail within the 2 s socket timeout (+ check period).
        LogWatch.Line noticed = null;
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (noticed == null && System.nanoTime() < deadline) {
          for (String s : new String[] {"lost the database session", "stream failed", "cannot reach the database"}) {
            LogWatch.Line l = logs.first(s, t0);
            if (l != null && (noticed == null || l.nanos() < noticed.nanos())) {
              noticed = l;
            }
          }
          Thread.sleep(20);
        }
        assertNotNull(noticed, "a black-holed database was noticed within 15 s");
        double detected = (noticed.nanos() - t0) / 1e9;
        assertTrue(detected < 6, "noticed after " + detected + " s with socket-timeout 2 s");
        Thread.sleep(4_000);
        int arrivedDuringHole = rig.arrivedCount();
        long healed = System.nanoTime();
        db.blackhole(false);
        LogWatch.Line owns = logs.await(OWNS, healed, 30_000);
        assertNotNull(owns, "ownership retaken after the database came back");
        double retaken = (owns.nanos() - healed) / 1e9;
        rig.awaitPublishers(Duration.ofSeconds(30));
        Tally tally = rig.awaitAll(Duration.ofSeconds(60));
        System.out.printf("db black hole: socket-timeout 2 s, noticed after %.1f s (%s), ownership retaken %.1f s"
            + " after the network healed: %s (arrived before healing: %d)%n", detected, noticed.message(), retaken,
            tally, arrivedDuringHole);
        tally.assertNothingLostInOrder();
        assertTrue(tally.duplicates() <= AmqpFaultsTest.WINDOW, () -> "too many duplicates: " + tally);
        assertEquals(1, lockHolders(rig).size());
      } finally {
        bridge.close();
      }
    }
  }

  /**
   * Only the advisory-lock session dies (terminated server-side) while the pool works: the next claim is fenced (it
   * checks pg_locks for the session's pid), draining stops at once, and the bridge takes the lock again.
   */
  @Test
  void losingTheLockSessionStopsDrainingAtOnceAndOwnershipIsRetaken() throws Exception {
    try (FaultRig rig = FaultRig.create("dbfence", io.pgamqp.testkit.TestServers.get().amqp());
        LogWatch logs = new LogWatch()) {
      Bridge bridge = BridgeRunner.start(rig.db, Map.of("pgamqp.bridge.batch-size", "100"));
      try {
        Eventually.until("the bridge owns the broker", Duration.ofSeconds(20), () -> lockHolders(rig).size() == 1);
        int firstPid = lockHolders(rig).get(0);
        rig.startPublishers(2, 10_000, 100, 5);
        Eventually.until("draining under way", Duration.ofSeconds(20), () -> rig.arrivedCount() > 2_000);
        long t0 = System.nanoTime();
        rig.db.exec("select pg_catalog.pg_terminate_backend(?)", firstPid);
        LogWatch.Line stopped = logs.await("standing by", t0, 10_000);
        LogWatch.Line noticed = firstOf(logs, t0, "lost the database session", "no longer the owner");
        assertNotNull(noticed, "the bridge noticed losing its lock session");
        assertNotNull(stopped, "the bridge stopped draining");
        double noticedAfter = (noticed.nanos() - t0) / 1e9;
        assertTrue(noticedAfter < 3, "noticed after " + noticedAfter + " s");
        Eventually.until("the lock retaken by a new session", Duration.ofSeconds(20),
            () -> lockHolders(rig).size() == 1 && lockHolders(rig).get(0) != firstPid);
        double retaken = (System.nanoTime() - t0) / 1e9;
        rig.awaitPublishers(Duration.ofSeconds(60));
        Tally tally = rig.awaitAll(Duration.ofSeconds(60));
        System.out.printf("lock session killed: noticed after %.2f s (%s), retaken after %.1f s: %s%n",
            noticedAfter, noticed.message(), retaken, tally);
        tally.assertNothingLostInOrder();
        assertTrue(tally.duplicates() <= AmqpFaultsTest.WINDOW, () -> "too many duplicates: " + tally);
      } finally {
        bridge.close();
      }
    }
  }

  private static LogWatch.Line firstOf(LogWatch logs, long since, String... texts) {
    LogWatch.Line first = null;
    for (String s : texts) {
      LogWatch.Line l = logs.first(s, since);
      if (l != null && (first == null || l.nanos() < first.nanos())) {
        first = l;
      }
    }
    return first;
  }

  /** Backend pids holding the broker's ownership lock in the rig's database. */
  static List<Integer> lockHolders(FaultRig rig) throws Exception {
    List<Integer> pids = new ArrayList<>();
    try (Connection c = rig.db.connect(); PreparedStatement ps = c.prepareStatement(
        "select l.pid from pg_catalog.pg_locks l where l.locktype = 'advisory' and l.classid = "
            + OwnershipLock.LOCK_CLASS + " and l.objid = ?::oid and l.objsubid = 2 and l.granted and l.database ="
            + " (select oid from pg_catalog.pg_database where datname = pg_catalog.current_database())")) {
      ps.setInt(1, rig.brokerId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          pids.add(rs.getInt(1));
        }
      }
    }
    return pids;
  }
}
