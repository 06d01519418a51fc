package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.testkit.Route;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The drain that each supported PostgreSQL major version must pass: install, {@code amqp.publish} in committed
 * transactions, {@code amqp.autonomous_publish} inside a rolled-back one, an in-process bridge drains it all to a real
 * queue exactly once in order. Runs against the test server (15 by default; 14, 16 and 17 embedded in the CI
 * profile {@code postgres-versions}). Needs PostgreSQL and an AMQP broker.
 */
@Tag("end-to-end")
@Timeout(120)
class PostgresVersionEndToEndTest {
  private static final int TRANSACTIONS = 20;
  private static final int PER_TRANSACTION = 100;

  @Test
  void installPublishAndAutonomousPublishDrainOnThisServer() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.prepare("pg_version")) {
      String version;
      try (Connection c = t.db.connect(); Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("select current_setting('server_version')")) {
        rs.next();
        version = rs.getString(1);
      }
      int major = Integer.parseInt(version.split("[.]")[0]);
      assertTrue(major >= 14 && major <= 17, "a supported version: " + version);
      Route r = Route.declare(t.amqp, "pgv");
      List<String> sent = new ArrayList<>();
      for (int tx = 0; tx < TRANSACTIONS; tx++) {
        sent.addAll(Published.bodiesOf(Published.commit(t.db, t.brokerId, r.exchange(), r.routingKey(),
            Published.bodies("tx" + tx, PER_TRANSACTION))));
      }
      try (Connection c = t.db.connect()) {
        c.setAutoCommit(false);
        Published.inTransaction(c, t.brokerId, r.exchange(), r.routingKey(), List.of("rolled-back"));
        try (PreparedStatement ps = c.prepareStatement("select amqp.autonomous_publish(?, ?, ?, 'autonomous')")) {
          ps.setInt(1, t.brokerId);
          ps.setString(2, r.exchange());
          ps.setString(3, r.routingKey());
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            assertTrue(rs.getBoolean(1));
          }
        }
        c.rollback();
      }
      sent.add("autonomous");

      long started = System.nanoTime();
      t.startBridge(Map.of());
      Deliveries arrived = Deliveries.drain(t.amqp, r.queue(), sent.size(), Duration.ofSeconds(60));
      arrived.assertBodiesExactlyOnce(sent);
      t.awaitOutboxEmpty(Duration.ofSeconds(10));
      System.out.printf("PostgreSQL %s: %d messages drained in %.1f s%n", version, sent.size(),
          (System.nanoTime() - started) / 1e9);
    }
  }
}
