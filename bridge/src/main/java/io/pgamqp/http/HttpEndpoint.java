package io.pgamqp.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.pgamqp.config.HttpSettings;
import io.pgamqp.metrics.MicrometerBridgeMetrics;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operations endpoint, on the JDK's built-in HTTP server:
 * <ul>
 *   <li>{@code GET /health/live}: 200 {@code {"status":"UP"}} while the bridge runs, else 503;
 *   <li>{@code GET /health/ready}: 200 when the bridge is ready, else 503; the JSON body names the database's and
 *       each broker's state and why it is not ready ({@link Readiness} has the rules);
 *   <li>{@code GET /metrics}: every metric in the Prometheus text format ({@code text/plain; version=0.0.4}).
 * </ul>
 * {@code HEAD} works too; other methods get 405, other paths 404.
 *
 * <p>Threading: requests are handled on the endpoint's own two daemon threads ({@code pgamqp-http-N}), never on the
 * actor system's dispatchers. Readiness does not block them either: it asks the {@link StatusSource} for a stage
 * and answers from that stage's completion, moved back onto the endpoint's threads, or after
 * {@code status-timeout}.
 */
public final class HttpEndpoint implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HttpEndpoint.class);
  private static final String JSON = "application/json";
  private static final int THREADS = 2;

  private final HttpServer server;
  private final ExecutorService executor;
  private final HttpSettings settings;
  private final BooleanSupplier live;
  private final StatusSource status;
  private final MicrometerBridgeMetrics metrics;

  private HttpEndpoint(HttpServer server, ExecutorService executor, HttpSettings settings, BooleanSupplier live,
      StatusSource status, MicrometerBridgeMetrics metrics) {
    this.server = server;
    this.executor = executor;
    this.settings = settings;
    this.live = live;
    this.status = status;
    this.metrics = metrics;
  }

  /**
   * Binds {@code settings.host():settings.port()} and starts serving. Call only when {@code settings.enabled()}.
   *
   * @param live true while the bridge runs (e.g. its actor system has not terminated)
   * @param status the bridge's runtime facts, for readiness
   * @param metrics what {@code /metrics} renders
   * @throws IOException if the address cannot be bound; the message names the setting
   */
  public static HttpEndpoint start(HttpSettings settings, BooleanSupplier live, StatusSource status,
      MicrometerBridgeMetrics metrics) throws IOException {
    HttpServer server;
    try {
      server = HttpServer.create(new InetSocketAddress(settings.host(), settings.port()), 0);
    } catch (IOException e) {
      throw new IOException("cannot listen on " + settings.host() + ":" + settings.port()
          + " (settings pgamqp.http.host, pgamqp.http.port / env PGAMQP_HTTP_PORT): " + e.getMessage(), e);
    }
    ExecutorService executor = Executors.newFixedThreadPool(THREADS, daemonThreads());
    HttpEndpoint endpoint = new HttpEndpoint(server, executor, settings, live, status, metrics);
    server.setExecutor(executor);
    server.createContext("/", endpoint::handle);
    server.start();
    log.info("operations endpoint on http://{}:{} (/health/live, /health/ready, /metrics)",
        settings.host(), endpoint.port());
    return endpoint;
  }

  /** The bound port (the chosen one when the setting is 0). */
  public int port() {
    return server.getAddress().getPort();
  }

  /**
   * Stops at once: requests under way are cut off (a probe or scrape during shutdown is worth nothing; the JDK's
   * server would otherwise wait out the whole grace period).
   */
  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try {
      String method = exchange.getRequestMethod();
      if (!method.equals("GET") && !method.equals("HEAD")) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        respond(exchange, 405, JSON, json("method not allowed"));
        return;
      }
      switch (exchange.getRequestURI().getPath()) {
        case "/health/live" -> live(exchange);
        case "/health/ready" -> ready(exchange);
        case "/metrics" -> metrics(exchange);
        default -> respond(exchange, 404, JSON, json("not found; try /health/live, /health/ready or /metrics"));
      }
    } catch (RuntimeException | IOException e) {
      log.debug("HTTP request {} failed", exchange.getRequestURI(), e);
      exchange.close();
    }
  }

  private void live(HttpExchange exchange) throws IOException {
    boolean up;
    try {
      up = live.getAsBoolean();
    } catch (RuntimeException e) {
      up = false;
    }
    respond(exchange, up ? 200 : 503, JSON, bytes(up ? "{\"status\":\"UP\"}" : "{\"status\":\"DOWN\"}"));
  }

  private void ready(HttpExchange exchange) {
    CompletableFuture<Readiness> readiness;
    try {
      readiness = status.status().toCompletableFuture()
          .thenApply(Readiness::of)
          .orTimeout(settings.statusTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) {
      readiness = CompletableFuture.failedFuture(e);
    }
    // Answer on our own threads: the stage may complete on an actor system thread, or the timeout thread.
    readiness.whenCompleteAsync((r, e) -> {
      Readiness answer = r != null ? r : Readiness.unavailable(describe(e));
      try {
        respond(exchange, answer.ready() ? 200 : 503, JSON, bytes(answer.json()));
      } catch (IOException | RuntimeException io) {
        log.debug("answering /health/ready failed", io);
        exchange.close();
      }
    }, executor);
  }

  private void metrics(HttpExchange exchange) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream(64 * 1024);
    try {
      metrics.scrape(body);
    } catch (IOException | RuntimeException e) {
      log.warn("rendering /metrics failed", e);
      respond(exchange, 500, JSON, json("rendering the metrics failed: " + e));
      return;
    }
    respond(exchange, 200, MicrometerBridgeMetrics.CONTENT_TYPE, body.toByteArray());
  }

  private String describe(Throwable e) {
    while (e instanceof java.util.concurrent.CompletionException && e.getCause() != null) {
      e = e.getCause();
    }
    if (e instanceof TimeoutException) {
      return "no answer within " + settings.statusTimeout().toMillis() + " ms (pgamqp.http.status-timeout)";
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }

  private static void respond(HttpExchange exchange, int code, String contentType, byte[] body) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", contentType);
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(code, head ? -1 : body.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
    exchange.close();
  }

  private static byte[] json(String message) {
    return bytes(Json.string(new StringBuilder("{\"error\":"), message).append('}').toString());
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static ThreadFactory daemonThreads() {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, "pgamqp-http-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
