package io.pgamqp.outbox;

import io.pgamqp.config.DatabaseSettings;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The session-level advisory lock that makes a bridge the only one draining a broker. It lives on a connection of its
 * own, held open for as long as we own the broker: if that session dies, PostgreSQL releases the lock, another bridge
 * may take it, and our claim queries (fenced on this session's pid) return nothing more. Blocking; not thread-safe:
 * used by its supervisor through the blocking dispatcher, one call at a time.
 */
public final class OwnershipLock implements AutoCloseable {

  /** First key of the two-int advisory lock that marks the owner of a broker ('pgaq'); the second is the broker_id. */
  public static final int LOCK_CLASS = 0x70676171;

  private final Connection connection;
  private final int pid;

  private OwnershipLock(Connection connection, int pid) {
    this.connection = connection;
    this.pid = pid;
  }

  /** Takes the lock, or returns null when another session holds it. */
  public static OwnershipLock tryAcquire(DatabaseSettings db, int brokerId) throws SQLException {
    Connection c = db.connect("pgamqp owner of broker " + brokerId);
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("select pg_catalog.pg_try_advisory_lock(" + LOCK_CLASS + ", "
            + brokerId + "), pg_catalog.pg_backend_pid()")) {
      rs.next();
      if (rs.getBoolean(1)) {
        return new OwnershipLock(c, rs.getInt(2));
      }
    } catch (SQLException | RuntimeException e) {
      c.close();
      throw e;
    }
    c.close();
    return null;
  }

  /** The backend pid holding the lock, used to fence claims. */
  public int pid() {
    return pid;
  }

  /**
   * True while the lock session answers from the backend that took the lock: a pooler that moved this connection to
   * another server backend (pgamqp.db.session-url through a transaction-mode pooler) has taken the lock away from us.
   */
  public boolean isAlive() {
    try (Statement st = connection.createStatement()) {
      // A query timeout alone does not help against a black-holed database (its cancel request hangs too): bound
      // the socket read itself.
      connection.setNetworkTimeout(Runnable::run, 5_000);
      st.setQueryTimeout(5);
      try (ResultSet rs = st.executeQuery("select pg_catalog.pg_backend_pid()")) {
        return rs.next() && rs.getInt(1) == pid;
      }
    } catch (SQLException e) {
      return false;
    }
  }

  @Override
  public void close() {
    try {
      connection.close(); // ends the session, which releases the lock
    } catch (SQLException ignored) {
      // the session is gone either way
    }
  }
}
