package io.pgamqp.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.cli.InstallCommand;
import io.pgamqp.config.DatabaseSettings;
import io.pgamqp.outbox.OutboxStore;
import io.pgamqp.testkit.BridgeProcess;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A bridge pointed at a database without schema amqp (a newcomer who skipped {@code install}, or chose the wrong
 * database) is not ready, says why and what to run, and logs it once, not at every refresh; once the schema is
 * installed it becomes ready. A schema older than the bridge is reported the same way. Separate JVM: its log is read.
 */
@Timeout(120)
class SchemaReadinessEndToEndTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void aMissingSchemaIsNotReadyAndSaysToInstallOnce() throws Exception {
    try (TestDatabase db = TestServers.get().createEmptyDatabase("ready_noschema")) {
      int port = freePort();
      // Refreshing every 200 ms: "once, not on every refresh" is then visible within the test.
      try (BridgeProcess bridge = BridgeProcess.start(db, "ready-noschema", Map.of("pgamqp.http.port",
          String.valueOf(port), "pgamqp.bridge.broker-refresh", "200ms"))) {
        String missing = "schema amqp is not installed in database " + db.name() + " (run `pgamqp install`)";
        Eventually.until("/health/ready answers 503", Duration.ofSeconds(30), () -> readyCode(port) == 503);
        HttpResponse<String> r = ready(port);
        assertEquals(503, r.statusCode());
        assertTrue(r.body().contains(missing), r.body());
        Thread.sleep(2_000); // ten refreshes
        long logged = bridge.log().lines().filter(l -> l.contains("schema amqp is not installed")).count();
        assertEquals(1, logged, bridge.log());

        InstallCommand.install(DatabaseSettings.create(BridgeRunner.config(db, Map.of())));
        Eventually.until("/health/ready answers 200 after install", Duration.ofSeconds(30),
            () -> readyCode(port) == 200);
        Eventually.until("the bridge reads amqp.broker again\n" + bridge.log(), Duration.ofSeconds(10),
            () -> bridge.log().contains("amqp.broker is readable again"));
      }
    }
  }

  @Test
  void aSchemaOlderThanTheBridgeIsNotReady() throws Exception {
    try (TestDatabase db = TestServers.get().createDatabase("ready_oldschema")) {
      db.exec("create or replace function amqp.schema_version() returns integer language sql as 'select "
          + (OutboxStore.SCHEMA_VERSION - 1) + "'");
      int port = freePort();
      try (BridgeProcess bridge = BridgeProcess.start(db, "ready-oldschema", Map.of("pgamqp.http.port",
          String.valueOf(port)))) {
        Eventually.until("/health/ready answers 503", Duration.ofSeconds(30), () -> readyCode(port) == 503);
        String body = ready(port).body();
        assertTrue(body.contains("schema amqp in database " + db.name() + " is older than this bridge"), body);
        assertTrue(body.contains("run `pgamqp install` to upgrade it"), body);
      }
    }
  }

  /** The revision the bridge needs is the one install.sql creates. */
  @Test
  void theBridgesSchemaRevisionIsTheInstalledOne() throws Exception {
    String sql = Files.readString(Path.of(System.getenv().getOrDefault("PGAMQP_REPO_ROOT", ".."),
        "sql/functions/amqp.schema_version.sql"));
    assertTrue(sql.contains("    select " + OutboxStore.SCHEMA_VERSION + "\n"),
        "amqp.schema_version() and OutboxStore.SCHEMA_VERSION disagree");
  }

  /** -1 while nothing listens yet. */
  private static int readyCode(int port) {
    try {
      return ready(port).statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  private static HttpResponse<String> ready(int port) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready"))
        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
