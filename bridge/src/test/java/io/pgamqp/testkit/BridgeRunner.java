package io.pgamqp.testkit;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.pgamqp.Bridge;
import java.util.Map;

/** Starts a bridge in this JVM against a test database, with settings tuned for quick tests. */
public final class BridgeRunner {
  private BridgeRunner() {}

  /** Test settings: short backoffs and checks so faults are handled within test time. */
  public static Config config(TestDatabase db, Map<String, Object> overrides) {
    TestServers servers = TestServers.get();
    Map<String, Object> base = new java.util.HashMap<>(Map.of(
        "pgamqp.db.url", db.jdbcUrl(),
        "pgamqp.db.user", servers.dbUser(),
        "pgamqp.db.password", servers.dbPassword() == null ? "" : servers.dbPassword(),
        "pgamqp.bridge.backoff-min", "100ms",
        "pgamqp.bridge.backoff-max", "2s",
        "pgamqp.bridge.ownership-check", "300ms",
        "pgamqp.bridge.broker-refresh", "2s",
        "pgamqp.bridge.confirm-timeout", "10s",
        "pgamqp.bridge.drain-timeout", "10s",
        "pgamqp.http.port", "0")); // several bridges may run at once: any free port
    base.putAll(overrides);
    return ConfigFactory.parseMap(base).withFallback(ConfigFactory.load()).resolve();
  }

  public static Bridge start(TestDatabase db) {
    return start(db, Map.of());
  }

  public static Bridge start(TestDatabase db, Map<String, Object> overrides) {
    return Bridge.start(config(db, overrides));
  }
}
