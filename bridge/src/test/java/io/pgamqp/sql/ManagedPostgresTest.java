package io.pgamqp.sql;

import static io.pgamqp.sql.ServerErrors.assertServerError;
import static io.pgamqp.sql.ServerErrors.assertServerErrorState;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.embedded.EmbeddedDatabase;
import io.pgamqp.testkit.TestServers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.util.ServerErrorMessage;

/**
 * pgamqp as a managed PostgreSQL service runs it: no superuser, password (scram-sha-256) authentication for everyone
 * but the platform's own administrator. A private server ({@link EmbeddedDatabase#builder()}) with its own
 * pg_hba.conf: the superuser {@code postgres} (standing in for the platform) may log in on trust, every other role
 * needs its password. The installing role is a CREATEROLE database owner; the platform runs, verbatim, the statement
 * install's NOTICE asks for (dblink in a schema of the owner's, USAGE on dblink_fdw); the owner creates the foreign
 * server {@code amqp_autonomous} and its user mapping. Then the owner and a member of {@code amqp_publisher} call
 * {@code amqp.autonomous_publish}, and the member cannot read the password by any of the usual ways. Runs on the
 * version in {@value TestServers#POSTGRES_BINARIES_PROPERTY} when set (the CI profile postgres-versions), else on
 * the bundled 15.
 */
@Timeout(120)
class ManagedPostgresTest {
  private static final String OWNER_PASSWORD = "owner-Secret-4711";
  private static final String PUBLISHER_PASSWORD = "publisher-Secret-0815";

  @Test
  void autonomousPublishWorksWithoutASuperuserAndItsPasswordStaysSecret() throws Exception {
    EmbeddedDatabase.Builder builder = EmbeddedDatabase.builder()
        .hba(List.of(
            "local all all trust",
            "host all postgres 127.0.0.1/32 trust",
            "host all all 127.0.0.1/32 scram-sha-256"))
        .serverConfig("password_encryption", "scram-sha-256");
    String binaries = System.getProperty(TestServers.POSTGRES_BINARIES_PROPERTY, "");
    if (!binaries.isBlank()) {
      builder.binaries(Path.of(binaries));
    }
    try (EmbeddedDatabase pg = builder.start()) {
      int port = pg.port();
      String owner = "app_owner";
      try (Connection admin = DriverManager.getConnection(pg.jdbcUrl("postgres"), "postgres", "")) {
        Sql.exec(admin, "create role " + owner + " login createrole password '" + OWNER_PASSWORD + "'");
        Sql.exec(admin, "create database app owner " + owner);
      }
      String url = pg.jdbcUrl("app");
      assertServerErrorState("28P01", () -> DriverManager.getConnection(url, owner, "wrong").close());

      // Install as the owner: dblink cannot be created without a superuser; the NOTICE says what the platform runs.
      String platformStep;
      try (Connection c = DriverManager.getConnection(url, owner, OWNER_PASSWORD); Statement st = c.createStatement()) {
        st.execute(Files.readString(TestServers.installSqlPath(), StandardCharsets.UTF_8));
        platformStep = dblinkHint(st.getWarnings());
      }
      assertTrue(platformStep.contains("authorization app_owner"), platformStep);
      try (Connection platform = DriverManager.getConnection(url, "postgres", "")) {
        Sql.exec(platform, platformStep);
      }

      try (Connection c = DriverManager.getConnection(url, owner, OWNER_PASSWORD)) {
        Sql.exec(c, "insert into amqp.broker (host, port, vhost, username, password)"
            + " values ('127.0.0.1', 5672, '/', 'guest', 'guest')");
        // Without the foreign server: dblink refuses a non-superuser without a password, and the hint says where
        // the password goes (a user mapping), not a setting everyone can read.
        ServerErrorMessage error = assertServerError("08001", "cannot connect",
            () -> Sql.value(c, "select amqp.autonomous_publish(1, 'ex', 'k', 'm')"));
        assertTrue(error.getHint().contains("create user mapping for app_owner server amqp_autonomous"),
            error::getHint);
        assertFalse(error.getHint().contains("password="), error::getHint);

        // The documented set-up (README "Managed PostgreSQL"), as the owner.
        Sql.exec(c, "create server amqp_autonomous foreign data wrapper dblink_fdw options (host '127.0.0.1', port '"
            + port + "', dbname 'app')");
        Sql.exec(c, "create user mapping for app_owner server amqp_autonomous options (user 'app_owner', password '"
            + OWNER_PASSWORD + "')");
        Sql.exec(c, "create role app_publisher login password '" + PUBLISHER_PASSWORD + "' in role amqp_publisher");
      }

      assertSurvivesRollback(url, owner, OWNER_PASSWORD, "from the owner");
      assertSurvivesRollback(url, "app_publisher", PUBLISHER_PASSWORD, "from a publisher");

      try (Connection pub = DriverManager.getConnection(url, "app_publisher", PUBLISHER_PASSWORD)) {
        List<Map<String, Object>> mappings = Sql.rows(pub,
            "select umoptions from pg_catalog.pg_user_mappings where srvname = 'amqp_autonomous'");
        assertEquals(1, mappings.size());
        assertNull(mappings.get(0).get("umoptions"), "the mapping's options are hidden from other roles");
        assertServerErrorState("42501", () -> Sql.rows(pub, "select * from pg_catalog.pg_user_mapping"));
        assertEquals(0L, Sql.value(pub, "select count(*) from pg_catalog.pg_db_role_setting s,"
            + " unnest(s.setconfig) c where c ilike '%password%'"));
        Object setting = Sql.value(pub, "select current_setting('amqp.autonomous_conninfo', true)");
        assertTrue(setting == null || !setting.toString().contains(OWNER_PASSWORD));
        // Nor through dblink itself: its schema is the owner's, and the server is not the publisher's to use.
        assertServerErrorState("42501",
            () -> Sql.value(pub, "select amqp_dblink.dblink_connect('mine', 'amqp_autonomous')"));
        assertServerErrorState("42501", () -> Sql.exec(pub,
            "create user mapping for app_publisher server amqp_autonomous options (user 'app_owner')"));
        assertEquals(0L, Sql.value(pub, "select count(*) from pg_catalog.pg_stat_activity"
            + " where query like '%' || ? || '%'", OWNER_PASSWORD.substring(0, 10)));
        System.out.println("managed PostgreSQL " + Sql.value(pub, "select current_setting('server_version')")
            + ": autonomous_publish works for the owner and a publisher under scram-sha-256; the password stays hidden");
      }
    }
  }

  /** {@code autonomous_publish} inside a transaction that rolls back: the message is queued all the same. */
  private static void assertSurvivesRollback(String url, String role, String password, String body)
      throws SQLException {
    try (Connection c = DriverManager.getConnection(url, role, password)) {
      c.setAutoCommit(false);
      assertEquals(true, Sql.value(c, "select amqp.autonomous_publish(1, 'ex', 'k', ?)", body));
      c.rollback();
    }
    try (Connection admin = DriverManager.getConnection(url, "postgres", "")) {
      assertEquals(1L, Sql.value(admin, "select count(*) from amqp.outbox where body = ?", body), body);
    }
  }

  /** The statement install's NOTICE asks a superuser to run for dblink. */
  private static String dblinkHint(SQLWarning warnings) {
    for (SQLWarning w = warnings; w != null; w = w.getNextWarning()) {
      Matcher m = Pattern.compile("runs \"([^\"]+)\"").matcher(String.valueOf(w.getMessage()));
      if (String.valueOf(w.getMessage()).contains("dblink not installed") && m.find()) {
        return m.group(1);
      }
    }
    assertNotNull(null, "install gave no NOTICE about dblink: " + warnings);
    return null;
  }
}
