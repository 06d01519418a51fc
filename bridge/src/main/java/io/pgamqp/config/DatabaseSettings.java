package io.pgamqp.config;

import com.typesafe.config.Config;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Properties;

/**
 * Where the outbox lives: subtree {@code pgamqp.db}. Immutable; validated on creation.
 *
 * @param password never logged: {@link #toString()} masks it
 */
public record DatabaseSettings(
    String url, String user, String password, int poolSize, Duration connectTimeout, Duration socketTimeout) {

  public static DatabaseSettings create(Config config) {
    Settings s = new Settings(config, "pgamqp.db");
    String url = s.string("url");
    if (!url.startsWith("jdbc:postgresql:")) {
      throw new ConfigError(
          "setting pgamqp.db.url (env PGAMQP_DB_URL) must be a PostgreSQL JDBC URL such as"
              + " jdbc:postgresql://127.0.0.1:5432/mydb, was '" + url + "'");
    }
    String user = s.string("user");
    if (user.isBlank()) {
      throw new ConfigError("setting pgamqp.db.user (env PGAMQP_DB_USER) must not be empty");
    }
    return new DatabaseSettings(
        url,
        user,
        s.string("password"),
        s.positiveInt("pool-size"),
        s.positiveDuration("connect-timeout"),
        s.positiveDuration("socket-timeout"));
  }

  /**
   * A dedicated connection (outside the pool), with the same timeouts as the pool's, for sessions that must be held
   * open: the advisory lock, LISTEN, install.
   */
  public Connection connect(String applicationName) throws SQLException {
    Properties props = new Properties();
    props.setProperty("user", user);
    if (!password.isEmpty()) {
      props.setProperty("password", password);
    }
    props.setProperty("ApplicationName", applicationName);
    props.setProperty("connectTimeout", String.valueOf(Math.max(1, connectTimeout.toSeconds())));
    props.setProperty("socketTimeout", String.valueOf(Math.max(1, socketTimeout.toSeconds())));
    props.setProperty("tcpKeepAlive", "true");
    return DriverManager.getConnection(url, props);
  }

  public DatabaseSettings withUrl(String newUrl) {
    return new DatabaseSettings(newUrl, user, password, poolSize, connectTimeout, socketTimeout);
  }

  @Override
  public String toString() {
    return "DatabaseSettings[url=" + url + ", user=" + user + ", password=" + (password.isEmpty() ? "" : "****")
        + ", poolSize=" + poolSize + "]";
  }
}
