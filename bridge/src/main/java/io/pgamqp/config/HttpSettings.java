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
 * @param idleTimeout a connection that sends or receives nothing for this long is closed (also one stuck in the middle
 *     of a request line)
 * @param maxConnections requests served at once, each on a thread of the endpoint's own; more wait
 * @param showDetails false: {@code /health/ready} answers only {@code {"status":"UP"}} or {@code "DOWN"}, without
 *     broker addresses, errors or reasons, and the operations page ({@code GET /}) is not served
 */
public record HttpSettings(boolean enabled, String host, int port, Duration statusTimeout, Duration idleTimeout,
    int maxConnections, boolean showDetails) {

  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(10);
  public static final int DEFAULT_MAX_CONNECTIONS = 256;

  /** The defaults for the settings not given. */
  public HttpSettings(boolean enabled, String host, int port, Duration statusTimeout) {
    this(enabled, host, port, statusTimeout, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, true);
  }

  public static HttpSettings create(Config config) {
    Settings s = new Settings(config, "pgamqp.http");
    boolean enabled = s.bool("enabled");
    String host = s.string("host").trim();
    if (host.isEmpty()) {
      throw new ConfigError("setting pgamqp.http.host must be an address or host name to bind, such as 0.0.0.0");
    }
    return new HttpSettings(enabled, host, s.port("port", "PGAMQP_HTTP_PORT"), s.positiveDuration("status-timeout"),
        s.positiveDuration("idle-timeout"), s.positiveInt("max-connections"), s.bool("show-details"));
  }

  public HttpSettings withPort(int newPort) {
    return new HttpSettings(enabled, host, newPort, statusTimeout, idleTimeout, maxConnections, showDetails);
  }
}
