package io.pgamqp.cli;

import io.pgamqp.config.DatabaseSettings;
import io.pgamqp.config.PgamqpConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** {@code install}: applies the bundled {@code sql/install.sql} (idempotent: re-running upgrades in place). */
public final class InstallCommand {
  private InstallCommand() {}

  static int run(String[] args) throws Exception {
    DatabaseSettings db = DatabaseSettings.create(PgamqpConfig.load());
    boolean existed = install(db);
    System.out.println((existed ? "upgraded" : "installed") + " schema amqp in " + db.url());
    return 0;
  }

  /** Applies install.sql; returns whether schema amqp was there before. */
  public static boolean install(DatabaseSettings db) throws SQLException, IOException {
    String sql = installSql();
    try (Connection c = db.connect("pgamqp install"); Statement st = c.createStatement()) {
      boolean existed;
      try (ResultSet rs = st.executeQuery("select to_regclass('amqp.outbox') is not null")) {
        rs.next();
        existed = rs.getBoolean(1);
      }
      st.execute(sql);
      return existed;
    }
  }

  public static String installSql() throws IOException {
    try (InputStream in = InstallCommand.class.getResourceAsStream("/sql/install.sql")) {
      if (in == null) {
        throw new IOException("sql/install.sql is missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
