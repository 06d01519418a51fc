package io.pgamqp.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** pgamqp.http and pgamqp.bridge.progress-interval: defaults from reference.conf, errors naming the key. */
class HttpSettingsTest {

  private static Config with(Map<String, Object> overrides) {
    return ConfigFactory.parseMap(overrides).withFallback(ConfigFactory.defaultReference()).resolve();
  }

  @Test
  void defaults() {
    HttpSettings s = HttpSettings.create(with(Map.of()));
    if (System.getenv("PGAMQP_HTTP_PORT") == null) {
      assertEquals(new HttpSettings(true, "0.0.0.0", 8559, Duration.ofSeconds(2)), s);
    }
    assertEquals(Duration.ofSeconds(10), BridgeSettings.create(with(Map.of())).progressInterval());
  }

  @Test
  void portZeroMeansAnyFreePortAndTheServerCanBeDisabled() {
    HttpSettings s = HttpSettings.create(with(Map.of("pgamqp.http.port", 0, "pgamqp.http.enabled", false)));
    assertEquals(0, s.port());
    assertEquals(false, s.enabled());
  }

  @Test
  void errorsNameTheKey() {
    assertMessage("setting pgamqp.http.port (env PGAMQP_HTTP_PORT) must be a TCP port in 0..65535 (0 = any free "
        + "port), was 70000", Map.of("pgamqp.http.port", 70000));
    assertMessage("setting pgamqp.http.port (env PGAMQP_HTTP_PORT) must be a whole number", 
        Map.of("pgamqp.http.port", "eighty"));
    assertMessage("setting pgamqp.http.enabled must be true or false", Map.of("pgamqp.http.enabled", "maybe"));
    assertMessage("setting pgamqp.http.host must be an address", Map.of("pgamqp.http.host", " "));
    assertMessage("setting pgamqp.http.status-timeout must be greater than 0",
        Map.of("pgamqp.http.status-timeout", "0s"));
    ConfigError e = assertThrows(ConfigError.class,
        () -> BridgeSettings.create(with(Map.of("pgamqp.bridge.progress-interval", "soon"))));
    assertTrue(e.getMessage().startsWith("setting pgamqp.bridge.progress-interval must be a duration"),
        e.getMessage());
  }

  private static void assertMessage(String prefix, Map<String, Object> overrides) {
    ConfigError e = assertThrows(ConfigError.class, () -> HttpSettings.create(with(overrides)));
    assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
  }
}
