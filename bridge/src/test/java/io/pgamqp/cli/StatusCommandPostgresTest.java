package io.pgamqp.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@code status} against a real database with schema amqp installed (needs PostgreSQL; embedded off CI). */
class StatusCommandPostgresTest {

  private static Config configFor(TestDatabase db) {
    TestServers servers = TestServers.get();
    return ConfigFactory.parseMap(Map.of("pgamqp.db.url", db.jdbcUrl(), "pgamqp.db.user", servers.dbUser(),
        "pgamqp.db.password", servers.dbPassword())).withFallback(ConfigFactory.defaultReference()).resolve();
  }

  @Test
  void showsEachBrokersBacklogOwnerConnectionAndLastError() throws SQLException {
    try (TestDatabase db = TestServers.get().createDatabase("status_cli")) {
      int draining = db.insertBroker();
      int broken = (int) db.queryLong("insert into amqp.broker (host, port) values ('rabbit-x.invalid', 5673)"
          + " returning broker_id");
      for (int i = 0; i < 3; i++) {
        db.exec("select amqp.publish(?, 'orders', 'created', '{}')", draining);
      }
      db.exec("update amqp.broker_state set owner = 'bridge-host:4242', owned_since = now() - interval '1 hour',"
          + " connected_to = 'rabbit-a:5672', connected_since = now() - interval '192 seconds',"
          + " last_confirm_at = now() where broker_id = ?", draining);
      db.exec("update amqp.broker_state set owner = 'bridge-host:4242', last_error = 'connection refused',"
          + " last_error_at = now() - interval '65 seconds' where broker_id = ?", broken);

      StatusCommandTest.Output o = new StatusCommandTest.Output();
      int code = StatusCommand.run(new String[0], configFor(db), o.out, o.err);

      assertEquals(0, code, o.err());
      List<String> lines = o.out().lines().toList();
      assertTrue(lines.get(0).startsWith("pgamqp status of " + db.jdbcUrl() + " at "), o.out());
      String header = lines.get(2);
      assertTrue(header.startsWith("BROKER  STATE"), o.out());
      String first = line(lines, draining);
      assertTrue(first.matches(draining + " +running +bridge-host:4242 +rabbit-a:5672 +3m1[2-9]s +3 +(<1s|\\d+s) +0"
          + " +\\S+ ago +127\\.0\\.0\\.1:\\d+"), first);
      // Columns line up under the header.
      assertEquals(header.indexOf("BACKLOG"), first.indexOf(" 3 ") + 1, o.out());
      String second = line(lines, broken);
      assertTrue(second.matches(broken + " +disconnected +bridge-host:4242 +- +- +0 +- +0 +never"
          + " +rabbit-x\\.invalid:5673"), second);
      assertTrue(o.out().contains("broker " + broken + ": last error 1m5s ago: connection refused"), o.out());
    }
  }

  @Test
  void watchRedrawsUntilInterrupted() throws Exception {
    try (TestDatabase db = TestServers.get().createDatabase("status_watch")) {
      db.insertBroker();
      StatusCommandTest.Output o = new StatusCommandTest.Output();
      Thread[] runner = new Thread[1];
      CompletableFuture<Integer> code = new CompletableFuture<>();
      runner[0] = new Thread(() -> code.complete(
          StatusCommand.run(new String[] {"--watch", "0.1"}, configFor(db), o.out, o.err)));
      runner[0].start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (o.out().split("\033\\[H\033\\[2J", -1).length < 4 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      runner[0].interrupt();
      assertEquals(0, code.get(10, TimeUnit.SECONDS), o.err());
      assertTrue(o.out().split("\033\\[H\033\\[2J", -1).length >= 4, "three screens drawn:\n" + o.out());
      assertTrue(o.out().contains("(every 0.1 s; Ctrl-C to stop)"), o.out());
    }
  }

  @Test
  void aDatabaseWithoutTheSchemaExitsOneWithTheFix() throws SQLException {
    try (TestDatabase db = TestServers.get().createEmptyDatabase("status_empty")) {
      for (String[] args : List.of(new String[0], new String[] {"--watch"})) {
        StatusCommandTest.Output o = new StatusCommandTest.Output();
        int code = StatusCommand.run(args, configFor(db), o.out, o.err);
        assertEquals(1, code);
        assertTrue(o.err().startsWith("pgamqp status: schema amqp (view amqp.status) is not installed, or is older"
            + " than this pgamqp, in the database " + db.jdbcUrl() + " ("), o.err());
        assertTrue(o.err().contains("If pgamqp lives in another database, set PGAMQP_DB_URL="), o.err());
        assertTrue(o.err().endsWith("; to install or upgrade it in this one: pgamqp install\n"), o.err());
      }
    }
  }

  /**
   * A newcomer who set no URL gets the default database: the answer says so, and how to choose theirs, before it
   * mentions installing there.
   */
  @Test
  void theDefaultDatabaseIsNamedAsTheDefaultBeforeAnyInstallAdvice() throws SQLException {
    try (TestDatabase db = TestServers.get().createEmptyDatabase("status_default")) {
      TestServers servers = TestServers.get();
      // The URL as reference.conf gives it when PGAMQP_DB_URL is unset (here pointing at an empty test database).
      Config fromDefaults = ConfigFactory.parseString("pgamqp.db.url = \"" + db.jdbcUrl() + "\"",
              ConfigParseOptions.defaults().setOriginDescription("reference.conf @ jar:file:pgamqp.jar!/reference.conf"))
          .withFallback(ConfigFactory.parseMap(Map.of("pgamqp.db.user", servers.dbUser(), "pgamqp.db.password",
              servers.dbPassword())))
          .withFallback(ConfigFactory.defaultReference()).resolve();
      StatusCommandTest.Output o = new StatusCommandTest.Output();
      assertEquals(1, StatusCommand.run(new String[0], fromDefaults, o.out, o.err));
      String err = o.err();
      assertTrue(err.contains(db.jdbcUrl() + " (the built-in default: PGAMQP_DB_URL is not set)"), err);
      assertTrue(err.indexOf("set PGAMQP_DB_URL=") < err.indexOf("pgamqp install"), err);
    }
  }

  private static String line(List<String> lines, int brokerId) {
    return lines.stream().filter(l -> l.startsWith(brokerId + " ")).findFirst()
        .orElseThrow(() -> new AssertionError("no line for broker " + brokerId + " in " + lines));
  }
}
