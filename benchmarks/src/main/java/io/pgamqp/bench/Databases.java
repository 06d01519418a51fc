package io.pgamqp.bench;

import com.typesafe.config.ConfigFactory;
import io.pgamqp.cli.InstallCommand;
import io.pgamqp.config.DatabaseSettings;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Map;

/** Fresh databases with schema amqp installed, one per measurement, dropped afterwards. */
final class Databases {
  private Databases() {}

  /** Creates {@code db} on the server of {@code pgAdminUrl}, installs the SQL, returns its JDBC URL. */
  static String create(String pgAdminUrl, String user, String db) throws Exception {
    try (Connection admin = DriverManager.getConnection(pgAdminUrl, user, "");
        Statement st = admin.createStatement()) {
      st.execute("create database " + db);
    }
    String url = url(pgAdminUrl, db);
    InstallCommand.install(DatabaseSettings.create(ConfigFactory.parseMap(Map.of("pgamqp.db.url", url,
        "pgamqp.db.user", user)).withFallback(ConfigFactory.load()).resolve()));
    return url;
  }

  static String url(String pgAdminUrl, String db) {
    return pgAdminUrl.substring(0, pgAdminUrl.lastIndexOf('/') + 1) + db;
  }

  /** Runs one statement on {@code url} as {@code user}. */
  static void exec(String url, String user, String sql) throws Exception {
    try (Connection c = DriverManager.getConnection(url, user, ""); Statement st = c.createStatement()) {
      st.execute(sql);
    }
  }

  static void drop(String pgAdminUrl, String user, String db) throws Exception {
    try (Connection admin = DriverManager.getConnection(pgAdminUrl, user, "");
        Statement st = admin.createStatement()) {
      st.execute("drop database if exists " + db + " with (force)");
    }
  }
}
