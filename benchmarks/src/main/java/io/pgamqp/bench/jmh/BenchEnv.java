package io.pgamqp.bench.jmh;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.pgamqp.cli.InstallCommand;
import io.pgamqp.config.DatabaseSettings;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Map;

/** Where the JMH benchmarks find PostgreSQL and RabbitMQ: the end-to-end harness's environment variables. */
final class BenchEnv {
  static final String PG_ADMIN_URL = env("PGAMQP_BENCH_PG_URL", "jdbc:postgresql://127.0.0.1:5432/postgres");
  static final String PG_USER = env("PGAMQP_BENCH_PG_USER", "postgres");
  static final String AMQP_HOST = env("PGAMQP_BENCH_AMQP_HOST", "127.0.0.1");
  static final int AMQP_PORT = Integer.parseInt(env("PGAMQP_BENCH_AMQP_PORT", "5672"));

  private BenchEnv() {}

  /** A fresh database with schema amqp installed and broker 1; returns its settings config. */
  static Config createDatabase(String db) throws Exception {
    try (Connection c = DriverManager.getConnection(PG_ADMIN_URL, PG_USER, ""); Statement st = c.createStatement()) {
      st.execute("create database " + db);
    }
    String url = PG_ADMIN_URL.substring(0, PG_ADMIN_URL.lastIndexOf('/') + 1) + db;
    Config config = ConfigFactory.parseMap(Map.of("pgamqp.db.url", url, "pgamqp.db.user", PG_USER))
        .withFallback(ConfigFactory.load()).resolve();
    InstallCommand.install(DatabaseSettings.create(config));
    try (Connection c = DriverManager.getConnection(url, PG_USER, ""); Statement st = c.createStatement()) {
      st.execute("insert into amqp.broker(host, port, username, password) values ('" + AMQP_HOST + "', "
          + AMQP_PORT + ", 'guest', 'guest')");
    }
    return config;
  }

  static void dropDatabase(String db) throws Exception {
    try (Connection c = DriverManager.getConnection(PG_ADMIN_URL, PG_USER, ""); Statement st = c.createStatement()) {
      st.execute("drop database if exists " + db + " with (force)");
    }
  }

  private static String env(String name, String def) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? def : v;
  }
}
