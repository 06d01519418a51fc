package io.pgamqp.config;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * The operations endpoint ({@code /health/live}, {@code /health/ready}, {@code /metrics}): subtree
 * {@code pgamqp.http}. Immutable; validated on creation.
 *
 * @param enabled false: no HTTP server is started
 * @param host address to bind, e.g. {@code 0.0.0.0} (all interfaces) or {@code 127.0.0.1}
 * @param port TCP port; 0 binds any free port (tests)
 * @param statusTimeout how long {@code /health/ready} waits for the bridge's status before answering 503
 */
public record HttpSettings(boolean enabled, String host, int port, Duration statusTimeout) {

  public static HttpSettings create(Config config) {
    Settings s = new Settings(config, "pgamqp.http");
    boolean enabled = s.bool("enabled");
    String host = s.string("host").trim();
    if (host.isEmpty()) {
      throw new ConfigError("setting pgamqp.http.host must be an address or host name to bind, such as 0.0.0.0");
    }
    return new HttpSettings(enabled, host, s.port("port", "PGAMQP_HTTP_PORT"), s.positiveDuration("status-timeout"));
  }

  public HttpSettings withPort(int newPort) {
    return new HttpSettings(enabled, host, newPort, statusTimeout);
  }
}
