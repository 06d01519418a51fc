package io.pgamqp.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** pgamqp.db.url and pgamqp.db.session-url: the session URL defaults to the pool's, both are validated by key. */
class DatabaseSettingsTest {
  private static final String DIRECT = "jdbc:postgresql://db:5432/app";
  private static final String POOLED = "jdbc:postgresql://pgbouncer:6432/app";

  private static Config with(Map<String, Object> overrides) {
    return ConfigFactory.parseMap(overrides).withFallback(ConfigFactory.defaultReference()).resolve();
  }

  @Test
  void theSessionUrlDefaultsToThePoolUrl() {
    if (System.getenv("PGAMQP_DB_SESSION_URL") != null) {
      return; // the environment sets it
    }
    DatabaseSettings s = DatabaseSettings.create(with(Map.of("pgamqp.db.url", POOLED)));
    assertEquals(POOLED, s.url());
    assertEquals(POOLED, s.sessionUrl());
    assertEquals(POOLED, DatabaseSettings.create(with(Map.of("pgamqp.db.url", POOLED, "pgamqp.db.session-url", "")))
        .sessionUrl());
  }

  @Test
  void aSessionUrlOfItsOwnKeepsThePoolOnThePooler() {
    DatabaseSettings s = DatabaseSettings.create(with(Map.of("pgamqp.db.url", POOLED, "pgamqp.db.session-url",
        DIRECT)));
    assertEquals(POOLED, s.url());
    assertEquals(DIRECT, s.sessionUrl());
    assertTrue(s.toString().contains("sessionUrl=" + DIRECT), s::toString);
  }

  @Test
  void aBadSessionUrlIsNamed() {
    ConfigError e = assertThrows(ConfigError.class, () -> DatabaseSettings.create(with(Map.of(
        "pgamqp.db.url", POOLED, "pgamqp.db.session-url", "postgres://db/app"))));
    assertEquals("setting pgamqp.db.session-url (env PGAMQP_DB_SESSION_URL) must be a PostgreSQL JDBC URL such as"
        + " jdbc:postgresql://127.0.0.1:5432/mydb, was 'postgres://db/app'", e.getMessage());
  }
}
