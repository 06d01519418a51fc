package io.pgamqp.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.Bridge;
import io.pgamqp.badinput.Harness;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The probe's finding: any role could make the bridge reconnect with a bare {@code notify amqp_disconnect}, revoking
 * EXECUTE on amqp.disconnect changed nothing, and a loop of amqp.disconnect reconnected as fast as it could. Now a
 * notification without the function's request row does nothing, the privilege governs, and requests coalesce into at
 * most one reconnect per backoff-min.
 */
@Tag("end-to-end")
@Timeout(120)
class DisconnectPrivilegeEndToEndTest {

  private static long connects(Harness.LogCapture log, int id) {
    return log.text().lines().filter(l -> l.contains("broker " + id + ": connected to")).count();
  }

  @Test
  void onlyAPrivilegedCallReconnectsAndALoopOfThemReconnectsOncePerBackoffMin() throws Exception {
    try (TestDatabase db = TestServers.get().createDatabase("disconnect_priv");
         Roles outsider = new Roles(null);
         Harness.LogCapture log = new Harness.LogCapture()) {
      int id = db.insertBroker();
      db.exec("revoke execute on function amqp.disconnect(integer) from public");
      try (Bridge bridge = BridgeRunner.start(db, Map.of("pgamqp.bridge.backoff-min", "1s"))) {
        Eventually.until("connected", Duration.ofSeconds(20), () -> connects(log, id) == 1);
        Thread.sleep(1000); // past the start-up look at pending requests

        try (Connection c = outsider.connect(db); Statement st = c.createStatement()) {
          for (int i = 0; i < 50; i++) {
            st.execute("notify amqp_disconnect, '" + id + "'");
          }
          SQLException refused =
              assertThrows(SQLException.class, () -> st.execute("select amqp.disconnect(" + id + ")"));
          assertEquals("42501", refused.getSQLState(), refused.getMessage());
        }
        Thread.sleep(2500);
        assertEquals(1, connects(log, id), "a bare NOTIFY made the bridge reconnect");

        db.exec("select amqp.disconnect(?)", id); // the owner may
        Eventually.until("reconnected once", Duration.ofSeconds(20), () -> connects(log, id) == 2);

        long start = System.nanoTime();
        int calls = 0;
        while (System.nanoTime() - start < Duration.ofSeconds(4).toNanos()) {
          db.exec("select amqp.disconnect(?)", id);
          calls++;
          Thread.sleep(10);
        }
        Thread.sleep(2500); // the last coalesced request is served
        long reconnects = connects(log, id) - 2;
        // 4 s of requests, then one more for those made during the last interval: 1 s apart at the least.
        assertTrue(reconnects >= 1 && reconnects <= 6, reconnects + " reconnects for " + calls + " calls in 4 s");
        assertEquals(0, db.queryLong("select count(*) from amqp.disconnect_request"), "every request was taken");
      }
    }
  }
}
