package io.pgamqp.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.pgamqp.config.BrokerAccess;
import io.pgamqp.config.ConfigError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Start-up validation of pgamqp.brokers / PGAMQP_BROKER_<ID>_PASSWORD and pgamqp.tls: errors name the key. */
class BrokerAccessTest {

  private static Config config(String hocon) {
    return ConfigFactory.parseString(hocon).withFallback(ConfigFactory.defaultReference()).resolve();
  }

  @Test
  void passwordsComeFromHoconAndTheEnvironmentWins() {
    BrokerAccess a = BrokerAccess.create(config("pgamqp.brokers { \"1\".password = \"from-hocon\","
        + " \"2\".password = \"two\" }"), Map.of("PGAMQP_BROKER_1_PASSWORD", "from-env", "PATH", "/bin"));
    assertEquals("from-env", a.password(1));
    assertEquals("two", a.password(2));
    assertNull(a.password(3));
    assertFalse(a.toString().contains("from-env") || a.toString().contains("two\""), a.toString());
    assertTrue(a.toString().contains("PGAMQP_BROKER_1_PASSWORD"), a.toString());
  }

  @Test
  void badKeysAreNamedInTheError() {
    assertEquals("setting pgamqp.brokers.\"one\": 'one' is not a broker_id (a positive whole number)",
        assertThrows(ConfigError.class, () -> BrokerAccess.create(config("pgamqp.brokers.one.password = x"),
            Map.of())).getMessage());
    assertEquals("setting pgamqp.brokers.\"1\".pasword is unknown (only password may be set per broker)",
        assertThrows(ConfigError.class, () -> BrokerAccess.create(config("pgamqp.brokers.\"1\".pasword = x"),
            Map.of())).getMessage());
    assertEquals("setting pgamqp.brokers.\"1\".password must be a non-empty string",
        assertThrows(ConfigError.class, () -> BrokerAccess.create(config("pgamqp.brokers.\"1\".password = \"\""),
            Map.of())).getMessage());
    assertEquals("environment variable PGAMQP_BROKER_X_PASSWORD: 'X' is not a broker_id (a positive whole number)",
        assertThrows(ConfigError.class, () -> BrokerAccess.create(config(""),
            Map.of("PGAMQP_BROKER_X_PASSWORD", "secret"))).getMessage());
    String e = assertThrows(ConfigError.class, () -> BrokerAccess.create(config(""),
        Map.of("PGAMQP_BROKER_1_PASSWORD", ""))).getMessage();
    assertEquals("environment variable PGAMQP_BROKER_1_PASSWORD must not be empty", e);
  }

  @Test
  void tlsTrustSettingsAreValidatedAtStartUp() throws Exception {
    assertTrue(assertThrows(ConfigError.class, () -> BrokerAccess.create(
        config("pgamqp.tls.ca-file = \"/nonexistent/ca.pem\""), Map.of())).getMessage()
        .startsWith("setting pgamqp.tls.ca-file: cannot read CA certificates from /nonexistent/ca.pem"));
    Path empty = Files.createTempFile("empty", ".pem");
    try {
      assertTrue(assertThrows(ConfigError.class, () -> BrokerAccess.create(
          config("pgamqp.tls.ca-file = \"" + empty + "\""), Map.of())).getMessage()
          .startsWith("setting pgamqp.tls.ca-file"));
      assertEquals("settings pgamqp.tls.ca-file and pgamqp.tls.trust-store: set at most one of them",
          assertThrows(ConfigError.class, () -> BrokerAccess.create(config("pgamqp.tls.ca-file = \"" + empty
              + "\"\npgamqp.tls.trust-store = \"" + empty + "\""), Map.of())).getMessage());
      String wrongPassword = assertThrows(ConfigError.class, () -> BrokerAccess.create(config(
          "pgamqp.tls.trust-store = \"" + empty + "\"\npgamqp.tls.trust-store-password = \"s3cret-store\""),
          Map.of())).getMessage();
      assertTrue(wrongPassword.startsWith("setting pgamqp.tls.trust-store: cannot load PKCS12 trust store"),
          wrongPassword);
      assertFalse(wrongPassword.contains("s3cret-store"), wrongPassword);
    } finally {
      Files.delete(empty);
    }
    Path ca = TestCertificates.newCa("unit").pemFile();
    assertTrue(BrokerAccess.create(config("pgamqp.tls.ca-file = \"" + ca + "\""), Map.of()).trustSource()
        .contains(ca.toString()));
  }
}
