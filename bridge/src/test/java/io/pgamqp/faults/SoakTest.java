package io.pgamqp.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.testkit.AmqpEndpoint;
import io.pgamqp.testkit.BridgeProcess;
import io.pgamqp.testkit.Tally;
import io.pgamqp.testkit.TestServers;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Soak: publishers keep committing (default 100,000 messages over about 40 s) while faults recur: the bridge's AMQP
 * connection is cut (RST) every 3 s, the bridge JVM is killed with {@code kill -9} once and restarted, every bridge
 * connection to PostgreSQL is cut once. The bridge is a separate JVM whose broker row and {@code pgamqp.db.url} both
 * point at {@link TcpProxy}s. Afterwards: lost = 0, duplicates counted and within the in-flight window per fault,
 * per-publisher order of first arrivals, outbox empty. Prints one summary line ("soak: ...") for README "Guarantees".
 *
 * <p>Larger manual run: {@code -Dpgamqp.soak.messages=1000000 -Dpgamqp.soak.seconds=300} (or env
 * {@code PGAMQP_SOAK_MESSAGES} / {@code PGAMQP_SOAK_SECONDS}). Needs PostgreSQL and an AMQP broker.
 */
@Tag("faults")
@Tag("soak")
class SoakTest {
  private static final int PUBLISHERS = 4;
  private static final int PER_TX = 100;
  private static final long CUT_EVERY_MILLIS = 3_000;

  @Test
  void committedMeansDeliveredWhileFaultsRecur() throws Exception {
    int messages = setting("pgamqp.soak.messages", "PGAMQP_SOAK_MESSAGES", 100_000);
    int seconds = setting("pgamqp.soak.seconds", "PGAMQP_SOAK_SECONDS", 40);
    org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(seconds * 2L + 120),
        () -> soak(messages, seconds));
  }

  private void soak(int messages, int seconds) throws Exception {
    AmqpEndpoint broker = TestServers.get().amqp();
    int perThread = messages / PUBLISHERS;
    long pause = Math.max(0, seconds * 1000L * PER_TX / perThread - 10);
    try (TcpProxy amqp = new TcpProxy(broker.host(), broker.port());
        TcpProxy db = new TcpProxy("127.0.0.1", 5432);
        FaultRig rig = FaultRig.create("soak", broker.withPort(amqp.port()))) {
      Map<String, String> settings = Map.of(
          "pgamqp.db.url", "jdbc:postgresql://127.0.0.1:" + db.port() + "/" + rig.db.name(),
          "pgamqp.db.socket-timeout", "5s",
          "pgamqp.db.connect-timeout", "2s",
          "pgamqp.bridge.amqp-heartbeat", "2s");
      long t0 = System.nanoTime();
      BridgeProcess bridge = BridgeProcess.start(rig.db, "soak-1", settings);
      BridgeProcess restarted = null;
      int amqpCuts = 0;
      int kills = 0;
      int dbCuts = 0;
      try {
        assertTrue(bridge.awaitLog(KillNineTest.OWNS, Duration.ofSeconds(60)), bridge::log);
        rig.startPublishers(PUBLISHERS, perThread, PER_TX, pause);
        long publishStart = System.nanoTime();
        long killAt = publishStart + seconds * 1_000_000_000L / 3;
        long dbCutAt = publishStart + seconds * 2_000_000_000L / 3;
        long nextCut = publishStart + CUT_EVERY_MILLIS * 1_000_000;
        while (rig.committedCount() < perThread * PUBLISHERS && System.nanoTime() - publishStart
            < (seconds + 60) * 1_000_000_000L) {
          long now = System.nanoTime();
          if (kills == 0 && now >= killAt) {
            bridge.kill(); // kill -9 mid-batch
            kills++;
            restarted = BridgeProcess.start(rig.db, "soak-2", settings);
          } else if (dbCuts == 0 && now >= dbCutAt) {
            db.cutAll();
            dbCuts++;
          } else if (now >= nextCut) {
            amqp.cutAll();
            amqpCuts++;
            nextCut = now + CUT_EVERY_MILLIS * 1_000_000;
          }
          Thread.sleep(50);
        }
        rig.awaitPublishers(Duration.ofSeconds(60));
        double publishSeconds = (System.nanoTime() - publishStart) / 1e9;
        Tally tally = rig.awaitAll(Duration.ofSeconds(90));
        double total = (System.nanoTime() - t0) / 1e9;
        int faults = amqpCuts + kills + dbCuts;
        int allowed = faults * AmqpFaultsTest.WINDOW;
        System.out.printf("soak: %d messages committed by %d publishers in %.0f s; faults: %d AMQP connection cuts"
                + " (RST, every %d s), %d kill -9 of the bridge JVM (restarted), %d cut of every database connection;"
                + " lost %d, duplicates %d (bound %d = %d faults x in-flight window %d), dead-lettered %d,"
                + " order violations %d; all delivered and outbox empty %.0f s after start%n",
            tally.committed(), PUBLISHERS, publishSeconds, amqpCuts, CUT_EVERY_MILLIS / 1000, kills, dbCuts,
            tally.lost(), tally.duplicates(), allowed, faults, AmqpFaultsTest.WINDOW, tally.deadLettered(),
            tally.orderViolations().size(), total);
        tally.assertNothingLostInOrder();
        assertEquals(messages / PUBLISHERS * PUBLISHERS, tally.committed());
        assertEquals(0, tally.deadLettered(), "nothing dead-lettered");
        assertEquals(1, kills);
        assertEquals(1, dbCuts);
        assertTrue(amqpCuts >= 3, "AMQP cuts: " + amqpCuts);
        assertTrue(tally.duplicates() <= allowed, () -> "duplicates beyond the in-flight window: " + tally);
        assertEquals(0, rig.outboxRows());
      } catch (Throwable e) {
        System.out.println("soak failed; bridge logs:\n--- first ---\n" + tail(bridge.log()) + "\n--- restarted ---\n"
            + (restarted == null ? "" : tail(restarted.log())));
        throw e;
      } finally {
        bridge.close();
        if (restarted != null) {
          restarted.terminate(Duration.ofSeconds(30));
          restarted.close();
        }
      }
    }
  }

  private static String tail(String log) {
    return log.length() <= 20_000 ? log : log.substring(log.length() - 20_000);
  }

  private static int setting(String property, String env, int dflt) {
    String v = System.getProperty(property);
    if (v == null || v.isBlank()) {
      v = System.getenv(env);
    }
    return v == null || v.isBlank() ? dflt : Integer.parseInt(v.trim());
  }
}
