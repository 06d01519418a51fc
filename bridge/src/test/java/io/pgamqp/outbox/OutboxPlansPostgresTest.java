package io.pgamqp.outbox;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.pgamqp.config.DatabaseSettings;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The plans of the claim and the settle's DELETE on a bridge session, in the state that once made both slow: the
 * statement prepared and run while the outbox was empty and vacuumed (an idle queue), then a backlog arriving. Plan
 * shapes, not timings: a sequential scan, or an index used for broker_id only, reads the whole backlog per batch
 * (measured: ~40 ms per 250-row claim or settle of a 200,000-row backlog, against ~0.2 ms by the index range).
 */
class OutboxPlansPostgresTest {
  private static final int BACKLOG = 20_000;

  private TestDatabase db;
  private Connection session;
  private int broker;

  @BeforeEach
  void emptyVacuumedOutbox() throws SQLException {
    db = TestServers.get().createDatabase("plans");
    broker = db.insertBroker();
    DatabaseSettings settings = DatabaseSettings.create(ConfigFactory.parseMap(Map.of(
        "pgamqp.db.url", db.jdbcUrl(), "pgamqp.db.user", TestServers.get().dbUser()))
        .withFallback(ConfigFactory.load()).resolve());
    session = settings.connect("plans test");
    db.exec("select amqp.publish(?, 'ex', 'k', 'one')", broker);
    db.exec("delete from amqp.outbox");
    db.exec("vacuum amqp.outbox"); // reltuples 0: the planner now believes the table empty until it is analyzed
  }

  @AfterEach
  void dropDatabase() throws SQLException {
    if (session != null) {
      session.close();
    }
    if (db != null) {
      db.close();
    }
  }

  @Test
  void theClaimReadsTheIndexRangeWhenABacklogArrivesAfterIdling() throws SQLException {
    String args = "(" + broker + ", 0, " + broker + ", 0, 250)";
    String plan = planAfterIdling(OutboxStore.CLAIM, args);
    assertFalse(plan.contains("Seq Scan on outbox"), plan);
    assertTrue(plan.contains("Index Scan using outbox_pkey on outbox"), plan);
  }

  @Test
  void theSettleDeletesThroughTheIdRangeWhenABacklogArrivesAfterIdling() throws SQLException {
    long first = db.queryLong("select coalesce(max(id), 0) + 1 from amqp.outbox");
    String ids = "'{" + first + "," + (first + 100) + "," + (first + 249) + "}'";
    String args = "(" + broker + ", " + first + ", " + (first + 249) + ", " + ids + ")";
    String plan = planAfterIdling(OutboxStore.DELETE, args);
    assertFalse(plan.contains("Seq Scan on outbox"), plan);
    assertTrue(Pattern.compile("Index Cond: \\(\\(broker_id = \\S+\\) AND \\(id >= ").matcher(plan).find(), plan);
  }

  /** Prepares {@code sql} on the bridge session, runs it on the empty outbox, adds a backlog, explains one run. */
  private String planAfterIdling(String sql, String args) throws SQLException {
    try (Statement st = session.createStatement()) {
      st.execute("prepare s as " + numbered(sql));
      st.execute("begin");
      for (int i = 0; i < 8; i++) { // beyond the five custom plans after which PostgreSQL may cache a generic one
        st.execute("execute s" + args);
      }
      st.execute("rollback");
      db.exec("select count(amqp.publish(?, 'ex', 'k', repeat('x', 256))) from generate_series(1, " + BACKLOG + ")",
          broker);
      StringBuilder plan = new StringBuilder();
      st.execute("begin");
      try (ResultSet rs = st.executeQuery("explain execute s" + args)) {
        while (rs.next()) {
          plan.append(rs.getString(1)).append('\n');
        }
      }
      st.execute("rollback");
      return plan.toString();
    }
  }

  /** JDBC's {@code ?} placeholders as PREPARE's {@code $1, $2, ...}. */
  private static String numbered(String sql) {
    Matcher m = Pattern.compile("\\?").matcher(sql);
    StringBuilder out = new StringBuilder();
    int n = 0;
    while (m.find()) {
      m.appendReplacement(out, "\\$" + ++n);
    }
    return m.appendTail(out).toString();
  }
}
