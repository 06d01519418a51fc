package io.pgamqp.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.pgamqp.config.DatabaseSettings;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code pgamqp install} against the real PostgreSQL: it applies install.sql and says what it changed. */
class InstallCommandPostgresTest {

  @Test
  void installReportsCreatedThenNothingThenWhatWasRepaired() throws Exception {
    TestServers servers = TestServers.get();
    try (TestDatabase db = servers.createEmptyDatabase("install_cmd")) {
      DatabaseSettings settings = DatabaseSettings.create(ConfigFactory.parseMap(Map.of(
              "pgamqp.db.url", db.jdbcUrl(), "pgamqp.db.user", servers.dbUser(),
              "pgamqp.db.password", servers.dbPassword() == null ? "" : servers.dbPassword()))
          .withFallback(ConfigFactory.load()).resolve());

      List<String> first = InstallCommand.install(settings);
      assertTrue(first.contains("created table amqp.outbox"), first.toString());
      assertTrue(first.stream().anyMatch(c -> c.startsWith("created function amqp.publish(")), first.toString());
      assertTrue(first.stream().noneMatch(c -> c.contains("dblink")), "dblink's own functions are not ours");

      assertEquals(List.of(), InstallCommand.install(settings), "a second install changes nothing");

      db.exec("create or replace function amqp.disconnect(broker_id integer) returns void language sql as 'select'");
      assertEquals(List.of("changed function amqp.disconnect(integer)"), InstallCommand.install(settings),
          "a re-install repairs a tampered function and says so");
    }
  }
}
