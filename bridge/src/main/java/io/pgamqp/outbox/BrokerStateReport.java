package io.pgamqp.outbox;

import java.io.IOException;
import java.net.InetAddress;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One broker's runtime report in {@code amqp.broker_state}, as this process writes it and {@code amqp.status} shows
 * it: who owns the broker, where it is connected, its last error. Best effort: a failed write is logged at debug,
 * never fatal. Writes other than taking ownership only touch a row this process owns ({@link #OWNER}), so a stale
 * process cannot overwrite its successor's report. Thread-safe; the writes run on the database's own threads.
 */
public final class BrokerStateReport {
  private static final Logger log = LoggerFactory.getLogger(BrokerStateReport.class);

  /** This process, {@code host:pid}, as amqp.status shows the owner of a broker. */
  public static final String OWNER = hostName() + ":" + ProcessHandle.current().pid();

  private static final String OWNED =
      "update amqp.broker_state set owner = ?, owned_since = case when ? then pg_catalog.now() end,"
          + " connected_to = null, connected_since = null where broker_id = ? and (? or owner = ?)";

  private static final String CONNECTED =
      "update amqp.broker_state set connected_to = ?,"
          + " connected_since = case when ? is null then null else pg_catalog.now() end"
          + " where broker_id = ? and owner = ?";

  private static final String FAILED =
      "update amqp.broker_state set last_error = ?, last_error_at = pg_catalog.now() where broker_id = ? and owner = ?";

  private final SlickDatabase db;
  private final int brokerId;

  BrokerStateReport(SlickDatabase db, int brokerId) {
    this.db = db;
    this.brokerId = brokerId;
  }

  /** This process took ({@code true}) or gave up the broker; either way it is no longer connected. */
  public void owned(boolean owned) {
    write(OWNED, ps -> {
      ps.setString(1, owned ? OWNER : null);
      ps.setBoolean(2, owned);
      ps.setInt(3, brokerId);
      ps.setBoolean(4, owned);
      ps.setString(5, OWNER);
    });
  }

  /** Connected to {@code hostPort}, or (null) the connection closed. */
  public void connected(String hostPort) {
    write(CONNECTED, ps -> {
      ps.setString(1, hostPort);
      ps.setString(2, hostPort);
      ps.setInt(3, brokerId);
      ps.setString(4, OWNER);
    });
  }

  /** Why the broker last failed. */
  public void failed(String error) {
    write(FAILED, ps -> {
      ps.setString(1, error);
      ps.setInt(2, brokerId);
      ps.setString(3, OWNER);
    });
  }

  @FunctionalInterface
  private interface Parameters {
    void set(PreparedStatement ps) throws SQLException;
  }

  private void write(String sql, Parameters parameters) {
    db.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        parameters.set(ps);
        return ps.executeUpdate();
      }
    }).whenComplete((n, e) -> {
      if (e != null) {
        log.debug("could not write the runtime report to amqp.broker_state: {}", e.getMessage());
      }
    });
  }

  private static String hostName() {
    String h = System.getenv("HOSTNAME");
    if (h == null || h.isBlank()) {
      try {
        h = InetAddress.getLocalHost().getHostName();
      } catch (IOException e) {
        h = "localhost";
      }
    }
    return h;
  }
}
