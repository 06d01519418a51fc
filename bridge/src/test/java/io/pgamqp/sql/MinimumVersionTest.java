package io.pgamqp.sql;

import static io.pgamqp.sql.ServerErrors.assertServerError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.embedded.EmbeddedDatabase;
import io.pgamqp.testkit.TestServers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.util.ServerErrorMessage;

/**
 * install.sql on PostgreSQL 13 (zonky's 13.16 binaries, embedded): an ERROR naming the minimum version, and nothing
 * created. The binaries come with the Maven profile postgres-versions (on in CI, where this test must run).
 */
@Timeout(120)
class MinimumVersionTest {
  static final String BINARIES_PROPERTY = "pgamqp.test.postgres13-binaries";

  @Test
  void installRefusesPostgres13NamingTheMinimum() throws Exception {
    String jar = System.getProperty(BINARIES_PROPERTY, "");
    if (!"true".equalsIgnoreCase(System.getenv("CI"))) {
      Assumptions.assumeTrue(!jar.isBlank() && Files.isRegularFile(Path.of(jar)),
          "PostgreSQL 13 binaries come with -Ppostgres-versions");
    }
    try (EmbeddedDatabase pg = EmbeddedDatabase.builder().binaries(Path.of(jar)).start();
        Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"), pg.user(), "");
        Statement st = c.createStatement()) {
      String sql = Files.readString(TestServers.installSqlPath(), StandardCharsets.UTF_8);
      ServerErrorMessage error = assertServerError("0A000", "pgamqp needs PostgreSQL 14 or later; this server is 13.",
          () -> st.execute(sql));
      assertTrue(error.getHint().contains("upgrade the server"), error::getHint);
      st.execute("rollback"); // install.sql's own transaction, aborted
      try (var rs = st.executeQuery("select count(*) from pg_catalog.pg_namespace where nspname = 'amqp'")) {
        rs.next();
        assertEquals(0, rs.getInt(1), "nothing installed");
      }
    }
  }
}
