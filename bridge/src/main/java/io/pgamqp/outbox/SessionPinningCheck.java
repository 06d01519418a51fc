package io.pgamqp.outbox;

import io.pgamqp.config.ConfigError;
import io.pgamqp.config.DatabaseSettings;
import io.pgamqp.logging.LogText;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.Optional;

/**
 * Start-up check that {@code pgamqp.db.session-url} gives real sessions: one server backend per connection for the
 * connection's life. The ownership lock and LISTEN are session state; behind a transaction- or statement-mode pooler
 * (PgBouncer) they would live on whichever server connection the pooler lends, so a killed bridge's lock could be
 * inherited by another client and two bridges would both believe they own a broker.
 *
 * <p>How: connection A reads its backend pid (one transaction, after which a pooler may take the server connection
 * back); connection B opens a transaction and reads its pid, holding its server connection; A reads its pid again.
 * Directly (or through a session-mode pooler) A's pid never changes and B's differs from it. A transaction-mode pooler
 * either lends B the server connection A just released (PgBouncer reuses the most recent one first) or, with B
 * holding it, lends A another; a statement-mode pooler refuses B's open transaction. Three rounds, so a pooler that
 * happens to hand A the same server connection back is still caught. Blocking; call once, before the bridge starts.
 */
public final class SessionPinningCheck {
  private static final int ROUNDS = 3;

  private SessionPinningCheck() {}

  /**
   * Throws a {@link ConfigError} naming {@code pgamqp.db.session-url} when that URL pools transactions or statements.
   * A database that cannot be reached is not a configuration error: the bridge starts and retries, so this returns
   * the reason the check could not run instead.
   */
  public static Optional<String> requireSessions(DatabaseSettings db) {
    String problem;
    try (Connection a = db.connect("pgamqp session check"); Connection b = db.connect("pgamqp session check")) {
      problem = probe(a, b);
    } catch (SQLException e) {
      return Optional.of(e.getMessage());
    }
    if (problem != null) {
      throw new ConfigError("setting pgamqp.db.session-url (env PGAMQP_DB_SESSION_URL, default pgamqp.db.url) must"
          + " reach PostgreSQL directly or through a session-mode pooler, but "
          + LogText.url(db.sessionUrl()) + " " + problem
          + ": the ownership lock and LISTEN need a session of their own. Point pgamqp.db.session-url at the server"
          + " itself (keep pgamqp.db.url on the pooler if you like)");
    }
    return Optional.empty();
  }

  /** Null when A kept its backend throughout, else what showed it did not. */
  private static String probe(Connection a, Connection b) throws SQLException {
    int first = pid(a);
    for (int round = 0; round < ROUNDS; round++) {
      b.setAutoCommit(false);
      int other;
      try {
        other = pid(b);
      } catch (SQLException e) {
        if (isPoolerRefusal(e)) {
          return "refuses a transaction held open (" + e.getMessage() + "), as a statement-mode pooler does";
        }
        throw e;
      }
      try {
        if (other == first) {
          return "gave two connections the same server backend (pid " + first + "), as a transaction-mode pooler"
              + " does";
        }
        int again = pid(a);
        if (again != first) {
          return "moved one connection from server backend " + first + " to " + again + " between two"
              + " transactions, as a transaction-mode pooler does";
        }
      } finally {
        b.rollback();
        b.setAutoCommit(true);
      }
    }
    return null;
  }

  private static int pid(Connection c) throws SQLException {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("select pg_catalog.pg_backend_pid()")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  /** PgBouncer's words when pool_mode = statement meets a transaction block. */
  private static boolean isPoolerRefusal(SQLException e) {
    String message = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
    return message.contains("transaction blocks not allowed") || message.contains("long transactions not allowed");
  }
}
