package io.pgamqp.config;

import com.typesafe.config.Config;
import io.pgamqp.logging.LogText;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * Where the outbox lives: subtree {@code pgamqp.db}. Immutable; validated on creation.
 *
 * @param url the pool's connections (claims, deletes, broker reads); may go through a transaction-mode pooler
 * @param sessionUrl every connection that must stay one server session: the ownership lock, LISTEN, install
 * @param password never logged: {@link #toString()} masks it
 */
public record DatabaseSettings(String url, String sessionUrl, String user, String password, int poolSize,
    Duration connectTimeout, Duration socketTimeout) {

  /**
   * The search_path of every session the bridge opens. Its SQL is schema-qualified, but an unpinned path would let
   * any role with CREATE on the database put a look-alike operator or function ahead of pg_catalog's for a call that
   * needs a cast (a schema named like the bridge's role matches {@code "$user"}) and run it as the bridge.
   * pg_temp last: a temporary table cannot shadow ours either.
   */
  public static final String SEARCH_PATH = "pg_catalog, pg_temp";

  /** Planner settings of every bridge session (see {@link #sessionProperties}). */
  static final String PLANNER_OPTIONS = "-c plan_cache_mode=force_custom_plan -c enable_sort=off";

  // URL parameters that would replace (PgJDBC lets the URL win over properties) or undo the pinned search_path.
  private static final List<String> PINNING_PARAMETERS = List.of("options", "currentSchema");

  public static DatabaseSettings create(Config config) {
    Settings s = new Settings(config, "pgamqp.db");
    String url = jdbcUrl(s.string("url"), "pgamqp.db.url (env PGAMQP_DB_URL)");
    String sessionUrl = config.hasPath("pgamqp.db.session-url") && !s.string("session-url").isBlank()
        ? jdbcUrl(s.string("session-url"), "pgamqp.db.session-url (env PGAMQP_DB_SESSION_URL)")
        : url;
    String user = s.string("user");
    if (user.isBlank()) {
      throw new ConfigError("setting pgamqp.db.user (env PGAMQP_DB_USER) must not be empty");
    }
    return new DatabaseSettings(
        url,
        sessionUrl,
        user,
        s.string("password"),
        s.positiveInt("pool-size"),
        s.positiveDuration("connect-timeout"),
        s.positiveDuration("socket-timeout"));
  }

  private static String jdbcUrl(String value, String key) {
    if (!value.startsWith("jdbc:postgresql:")) {
      throw new ConfigError("setting " + key + " must be a PostgreSQL JDBC URL such as"
          + " jdbc:postgresql://127.0.0.1:5432/mydb, was '" + LogText.url(value) + "'");
    }
    for (String param : PINNING_PARAMETERS) {
      if (Pattern.compile("[?&]" + param + "=", Pattern.CASE_INSENSITIVE)
          .matcher(value).find()) {
        throw new ConfigError("setting " + key + " must not set '" + param + "': the bridge"
            + " pins search_path = " + SEARCH_PATH + " on each of its sessions through the connection options;"
            + " set other server parameters on its role instead (alter role ... set ...)");
      }
    }
    return value;
  }

  /**
   * A dedicated connection (outside the pool) to {@link #sessionUrl()}, with the same timeouts as the pool's, for
   * sessions that must be held open: the advisory lock, LISTEN, install.
   */
  public Connection connect(String applicationName) throws SQLException {
    Properties props = sessionProperties(applicationName);
    props.setProperty("user", user);
    if (!password.isEmpty()) {
      props.setProperty("password", password);
    }
    return DriverManager.getConnection(sessionUrl, props);
  }

  /**
   * The driver properties of every bridge session, pooled or dedicated (without user and password): the timeouts
   * and the pinned {@link #SEARCH_PATH}, sent as a startup option so that it holds from the first statement on.
   */
  public Properties sessionProperties(String applicationName) {
    Properties props = new Properties();
    props.setProperty("ApplicationName", applicationName);
    props.setProperty("connectTimeout", String.valueOf(Math.max(1, connectTimeout.toSeconds())));
    // A black-holed database must be noticed in seconds, not after the OS TCP timeout.
    props.setProperty("socketTimeout", String.valueOf(Math.max(1, socketTimeout.toSeconds())));
    props.setProperty("tcpKeepAlive", "true");
    // Outbox queries must read the (broker_id, id) index range, whatever the planner believes about the outbox's size.
    // Without statistics (autovacuum off, or analyzed while empty) it chose to read a whole backlog and sort it for
    // each 250-row claim (~40 ms per claim of a 200,000-row backlog instead of ~0.2 ms), and a plan cached while the
    // outbox was empty (an idle, vacuumed queue) was a sequential scan kept when the backlog arrived. So: plans made
    // for each execution, with the table's current size (~0.1 ms each), and no explicit sorts (no bridge query needs
    // one: the index gives the order).
    props.setProperty("options", "-c search_path=" + SEARCH_PATH.replace(" ", "") + " " + PLANNER_OPTIONS);
    return props;
  }

  /**
   * The driver properties of the pool's sessions: {@link #sessionProperties} and commits that do not wait for their
   * WAL flush. Everything the pool writes is the bridge's bookkeeping of work the broker already did (rows settled or
   * dead-lettered, attempts, reports, wake-up requests); a commit lost in a database crash leaves the outbox rows in
   * place, so they are sent again (a duplicate, never a loss), and every transaction still applies all or nothing.
   * Waiting for the flush made the serial settle stage the slowest step of a batch under load.
   */
  public Properties poolProperties(String applicationName) {
    Properties props = sessionProperties(applicationName);
    props.setProperty("options", props.getProperty("options") + " -c synchronous_commit=off");
    return props;
  }

  /** The pool's URL as logs and messages show it: any password in it replaced by {@code ****}. */
  public String displayUrl() {
    return LogText.url(url);
  }

  @Override
  public String toString() {
    return "DatabaseSettings[url=" + displayUrl()
        + (sessionUrl.equals(url) ? "" : ", sessionUrl=" + LogText.url(sessionUrl))
        + ", user=" + user + ", password=" + (password.isEmpty() ? "" : "****")
        + ", poolSize=" + poolSize + "]";
  }
}
