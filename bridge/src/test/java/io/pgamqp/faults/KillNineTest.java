package io.pgamqp.faults;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgamqp.testkit.BridgeProcess;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Tally;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The bridge as a separate JVM, killed with {@code kill -9} while it drains a backlog, then started again: every
 * message arrives, only rows still in the outbox at the kill arrive twice, first arrivals keep commit order. Needs
 * PostgreSQL and an AMQP broker.
 */
@Tag("faults")
@Timeout(120)
class KillNineTest {
  static final String OWNS = "this bridge owns it now";

  @Test
  void killNineMidBatchThenRestartLosesNothing() throws Exception {
    try (FaultRig rig = FaultRig.create("kill9", TestServers.get().amqp())) {
      rig.commit(20_000, 1_000);
      Map<String, Long> idOf = ids(rig);
      long t0 = System.nanoTime();
      Set<Long> unsettledAtKill;
      try (BridgeProcess first = BridgeProcess.start(rig.db, "kill9-first", Map.of())) {
        Eventually.until("the first bridge settled part of the backlog", Duration.ofSeconds(60),
            () -> rig.outboxRows() < 17_000);
        first.kill();
        assertFalse(first.isAlive());
        unsettledAtKill = rig.outboxIds();
      }
      int settledAtKill = 20_000 - unsettledAtKill.size();
      try (BridgeProcess second = BridgeProcess.start(rig.db, "kill9-second", Map.of())) {
        assertTrue(second.awaitLog(OWNS, Duration.ofSeconds(60)), second::log);
        Tally tally = rig.awaitAll(Duration.ofSeconds(60));
        tally.assertNothingLostInOrder();
        int repeatedSettled = repeatsOutside(rig, idOf, unsettledAtKill);
        System.out.printf("kill -9: %d of 20000 settled at the kill, %d unsettled; after restart: %s, %.1f s%n",
            settledAtKill, unsettledAtKill.size(), tally, (System.nanoTime() - t0) / 1e9);
        if (repeatedSettled > 0) {
          fail(repeatedSettled + " messages settled before the kill arrived again");
        }
        assertTrue(tally.duplicates() <= unsettledAtKill.size());
      }
    }
  }

  /** body -> outbox id of every row now in the outbox. */
  static Map<String, Long> ids(FaultRig rig) throws Exception {
    Map<String, Long> ids = new HashMap<>();
    try (Connection c = rig.db.connect();
        ResultSet rs = c.createStatement().executeQuery("select id, body from amqp.outbox")) {
      while (rs.next()) {
        ids.put(rs.getString(2), rs.getLong(1));
      }
    }
    return ids;
  }

  /** Bodies that arrived more than once although their row was settled (deleted) before the kill. */
  private static int repeatsOutside(FaultRig rig, Map<String, Long> idOf, Set<Long> unsettled) throws Exception {
    List<String> dups = rig.duplicateBodies();
    int bad = 0;
    for (String b : dups) {
      Long id = idOf.get(b);
      if (id == null || !unsettled.contains(id)) {
        bad++;
      }
    }
    return bad;
  }
}
