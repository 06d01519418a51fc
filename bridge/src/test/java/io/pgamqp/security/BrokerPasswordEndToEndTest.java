package io.pgamqp.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.Bridge;
import io.pgamqp.badinput.Harness;
import io.pgamqp.testkit.AmqpEndpoint;
import io.pgamqp.testkit.AmqpTestClient;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Route;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Broker passwords from the bridge's configuration instead of amqp.broker; no password in logs or amqp.status. */
@Tag("end-to-end")
@Timeout(120)
class BrokerPasswordEndToEndTest {

  private static int insertBroker(TestDatabase db, String password) throws Exception {
    AmqpEndpoint e = TestServers.get().amqp();
    return (int) db.queryLong("insert into amqp.broker (host, port, vhost, username, password)"
        + " values (?, ?, ?, ?, ?) returning broker_id", e.host(), e.port(), e.vhost(), e.username(), password);
  }

  private static String http(int port, String path) throws Exception {
    java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + path)).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    return r.body();
  }

  /** The probe's finding: PGAMQP_DB_URL's password showed in the start-up line and in config errors. */
  @Test
  void aPasswordInTheDatabaseUrlIsNeverPrinted() throws Exception {
    String secret = "Db-s3cret-" + System.nanoTime();
    try (TestDatabase db = TestServers.get().createDatabase("password_url");
         Harness.LogCapture log = new Harness.LogCapture()) {
      // Trust authentication ignores the password: the URL still carries it, as a user's would.
      String url = db.jdbcUrl() + (db.jdbcUrl().contains("?") ? "&" : "?") + "password=" + secret;
      try (Bridge bridge = BridgeRunner.start(db, Map.of("pgamqp.db.url", url))) {
        Eventually.until("the bridge logs its start", Duration.ofSeconds(10),
            () -> log.text().contains("pgamqp bridge started"));
      }
      com.typesafe.config.Config bad = BridgeRunner.config(db, Map.of("pgamqp.db.url",
          "postgresql://127.0.0.1/app?password=" + secret));
      io.pgamqp.config.ConfigError error = org.junit.jupiter.api.Assertions.assertThrows(
          io.pgamqp.config.ConfigError.class, () -> io.pgamqp.config.DatabaseSettings.create(bad));
      assertTrue(error.getMessage().contains("password=****"), error.getMessage());
      assertFalse(error.getMessage().contains(secret), error.getMessage());
      assertTrue(log.text().contains("password=****"), log.text());
      assertFalse(log.text().contains(secret), log.text());
      assertFalse(io.pgamqp.config.DatabaseSettings.create(BridgeRunner.config(db, Map.of("pgamqp.db.url", url)))
          .toString().contains(secret));
    }
  }

  @Test
  void aConfiguredPasswordReplacesTheTablesPlaceholder() throws Exception {
    try (TestDatabase db = TestServers.get().createDatabase("password_config");
         AmqpTestClient amqp = new AmqpTestClient()) {
      int id = insertBroker(db, "placeholder: see pgamqp.brokers");
      Route route = Route.declare(amqp, "pwcfg");
      try (Bridge bridge = BridgeRunner.start(db, Map.of(
          "pgamqp.brokers.\"" + id + "\".password", TestServers.get().amqp().password()))) {
        Harness.publish(db, id, route.exchange(), List.of("one", "two"));
        assertEquals(List.of("one", "two"), Harness.drainBodies(amqp, route.queue(), 2, Duration.ofSeconds(30)));
      }
    }
  }

  @Test
  void wrongCredentialsBackOffWithAReasonAndNoPasswordIsEverLoggedOrShown() throws Exception {
    String rowPassword = "Row-s3cret-" + System.nanoTime();
    String configPassword = "Cfg-s3cret-" + System.nanoTime();
    String operations;
    try (TestDatabase db = TestServers.get().createDatabase("password_wrong");
         AmqpTestClient amqp = new AmqpTestClient();
         Harness.LogCapture log = new Harness.LogCapture()) {
      int fromRow = insertBroker(db, rowPassword);
      int fromConfig = insertBroker(db, null);
      Route route = Route.declare(amqp, "pwbad");
      try (Bridge bridge = BridgeRunner.start(db, Map.of(
          "pgamqp.brokers.\"" + fromConfig + "\".password", configPassword))) {
        Harness.publish(db, fromRow, route.exchange(), List.of("waits-1"));
        Harness.publish(db, fromConfig, route.exchange(), List.of("waits-2"));
        for (int id : new int[] {fromRow, fromConfig}) {
          Eventually.until("amqp.status says authentication failed for broker " + id, Duration.ofSeconds(30),
              () -> String.valueOf(Harness.text(db, "select last_error from amqp.status where broker_id = ?", id))
                  .contains("authentication failed"));
        }
        Eventually.until("several attempts were made (backing off)", Duration.ofSeconds(20),
            () -> log.text().split("cannot connect", -1).length > 4);
        operations = http(bridge.httpPort(), "/metrics") + http(bridge.httpPort(), "/health/ready");
      }
      assertTrue(operations.contains("pgamqp_broker_connected"), operations);
      assertFalse(operations.contains(rowPassword) || operations.contains(configPassword),
          "password in /metrics or /health/ready");
      assertEquals(2, db.queryLong("select count(*) from amqp.outbox"), "nothing lost while the password is wrong");
      assertEquals(List.of(), Harness.drainBodies(amqp, route.queue(), 1, Duration.ofMillis(500)));
      String status = Harness.text(db, "select string_agg(s::text, ' ') from amqp.status s");
      String logged = log.text();
      assertTrue(logged.contains("authentication failed"), logged);
      for (String secret : List.of(rowPassword, configPassword)) {
        assertFalse(logged.contains(secret), "password in the log:\n" + logged);
        assertFalse(status.contains(secret), "password in amqp.status: " + status);
      }
    }
  }
}
