package io.pgamqp.outbox;

import java.io.IOException;
import java.net.InetAddress;
import java.sql.PreparedStatement;
import java.sql.Types;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One broker's runtime report in {@code amqp.broker_state}, as this process writes it and {@code amqp.status} shows
 * it: who owns the broker, where it is connected, its last error. Best effort: a failed write is logged at debug,
 * never fatal. Writes other than taking ownership only touch a row this process owns ({@link #OWNER}), so a stale
 * process cannot overwrite its successor's report. The writes run on the database's own threads, one after the
 * other in the order they were made. Not thread-safe: written by one broker's supervisor.
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
  private CompletionStage<?> previous = CompletableFuture.completedFuture(null);

  BrokerStateReport(SlickDatabase db, int brokerId) {
    this.db = db;
    this.brokerId = brokerId;
  }

  /** This process took ({@code true}) or gave up the broker; either way it is no longer connected. */
  public void owned(boolean owned) {
    write(OWNED, owned ? OWNER : null, owned, brokerId, owned, OWNER);
  }

  /** Connected to {@code hostPort}, or (null) the connection closed. */
  public void connected(String hostPort) {
    write(CONNECTED, hostPort, hostPort, brokerId, OWNER);
  }

  /** Why the broker last failed. */
  public void failed(String error) {
    write(FAILED, error, brokerId, OWNER);
  }

  /**
   * Runs {@code sql} with {@code parameters} in order (texts, null for SQL NULL, booleans and ints) once the previous
   * write has finished: two writes on two pool connections could land out of order, and "connected" before "owned"
   * would leave the broker shown as not connected until its next reconnect.
   */
  private void write(String sql, Object... parameters) {
    previous = previous.handle((x, e) -> null).thenCompose(x -> db.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        for (int i = 0; i < parameters.length; i++) {
          if (parameters[i] == null) {
            ps.setNull(i + 1, Types.VARCHAR);
          } else {
            ps.setObject(i + 1, parameters[i]);
          }
        }
        return ps.executeUpdate();
      }
    })).whenComplete((n, e) -> {
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
