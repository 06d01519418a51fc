package io.pgamqp.testkit;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.pgamqp.Bridge;
import java.util.Map;

/** Starts a bridge in this JVM against a test database, with settings tuned for quick tests. */
public final class BridgeRunner {
  private BridgeRunner() {}

  /**
   * Bridge settings every test bridge starts from, in this JVM or another: short backoffs and checks so faults are
   * handled within test time, and any free operations port because several bridges may run at once.
   */
  public static final Map<String, String> TEST_SETTINGS = Map.of(
      "pgamqp.bridge.backoff-min", "100ms",
      "pgamqp.bridge.backoff-max", "2s",
      "pgamqp.bridge.ownership-check", "300ms",
      "pgamqp.bridge.broker-refresh", "2s",
      "pgamqp.bridge.confirm-timeout", "10s",
      "pgamqp.bridge.drain-timeout", "10s",
      "pgamqp.http.port", "0");

  /** {@link #TEST_SETTINGS} for {@code db}, then {@code overrides}. */
  public static Config config(TestDatabase db, Map<String, Object> overrides) {
    TestServers servers = TestServers.get();
    Map<String, Object> base = new java.util.HashMap<>(TEST_SETTINGS);
    base.put("pgamqp.db.url", db.jdbcUrl());
    base.put("pgamqp.db.user", servers.dbUser());
    base.put("pgamqp.db.password", servers.dbPassword() == null ? "" : servers.dbPassword());
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
