package io.pgamqp.http;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.pgamqp.config.HttpSettings;
import io.pgamqp.metrics.MicrometerBridgeMetrics;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operations endpoint, on the JDK's own HTTP server ({@code com.sun.net.httpserver}, module jdk.httpserver):
 * <ul>
 *   <li>{@code GET /}: the {@link OperationsPage} for people (HTML), when one is given;
 *   <li>{@code GET /health/live}: 200 {@code {"status":"UP"}} while the bridge runs, else 503;
 *   <li>{@code GET /health/ready}: 200 when the bridge is ready, else 503; the JSON body names the database's and
 *       each broker's state and why it is not ready ({@link Readiness} has the rules), or only the status when
 *       {@code pgamqp.http.show-details} is off;
 *   <li>{@code GET /metrics}: every metric in the Prometheus text format ({@code text/plain; version=0.0.4}).
 * </ul>
 * {@code HEAD} works too; other methods get 405, other paths 404, a request target over {@value #MAX_URI_CHARS}
 * characters 414, a header value over {@value #MAX_HEADER_VALUE_CHARS} characters or more than
 * {@value #MAX_HEADERS} headers 431.
 *
 * <p>Why the JDK's server (it costs nothing in the jar; Akka HTTP cost 5.3 MB), and how slow clients are kept from
 * starving probes: that server reads each request with blocking reads on an executor thread, so clients that send
 * half a request line and go silent once held every thread and liveness probes timed out. {@link ExchangeWorkers}
 * is that executor: up to {@code max-connections} threads of its own (further requests wait), and a watchdog that
 * closes a request stuck reading or writing for {@code idle-timeout}. Connections idle between requests (or before
 * their first) hold no thread; the JDK server closes them after {@code sun.net.httpserver.idleInterval}, which
 * {@link #start} sets from {@code idle-timeout} unless the JVM was given one (the JDK reads it once per JVM, when the
 * first server starts, in whole seconds).
 *
 * <p>Threading: requests run on the {@link ExchangeWorkers}, apart from the bridge's actor system, so that liveness
 * still answers (503) when the bridge's system has stopped. A request's thread waits for readiness at most
 * {@code status-timeout}; that wait does not count as idle.
 */
public final class HttpEndpoint implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HttpEndpoint.class);
  private static final String JSON = "application/json";
  private static final String PROMETHEUS = MicrometerBridgeMetrics.CONTENT_TYPE;
  private static final String HTML = "text/html; charset=UTF-8";
  /** Akka HTTP's limits, which this endpoint answered with before: 414 and 431 beyond them. */
  static final int MAX_URI_CHARS = 2048;
  static final int MAX_HEADER_VALUE_CHARS = 8192;
  static final int MAX_HEADERS = 64;
  /** The JDK server drops a request whose request line and headers exceed this (its default is 380 KiB). */
  private static final int MAX_REQUEST_HEAD_BYTES = 32 * 1024;
  /** Pending connections the kernel keeps for the listener, as before. */
  private static final int BACKLOG = 256;

  private final HttpSettings settings;
  private final BooleanSupplier live;
  private final StatusSource status;
  private final MicrometerBridgeMetrics metrics;
  private final OperationsPage page; // null: GET / is 404
  private final ExchangeWorkers workers;
  private HttpServer server;

  private HttpEndpoint(HttpSettings settings, BooleanSupplier live, StatusSource status,
      MicrometerBridgeMetrics metrics, OperationsPage page) {
    this.settings = settings;
    this.live = live;
    this.status = status;
    this.metrics = metrics;
    this.page = page;
    this.workers = new ExchangeWorkers(settings.maxConnections(), settings.idleTimeout());
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
    return start(settings, live, status, metrics, null);
  }

  /** As {@link #start(HttpSettings, BooleanSupplier, StatusSource, MicrometerBridgeMetrics)}, and {@code GET /}. */
  public static HttpEndpoint start(HttpSettings settings, BooleanSupplier live, StatusSource status,
      MicrometerBridgeMetrics metrics, OperationsPage page) throws IOException {
    configureJdkServer(settings);
    HttpEndpoint endpoint = new HttpEndpoint(settings, live, status, metrics, page);
    try {
      HttpServer server = HttpServer.create(new InetSocketAddress(settings.host(), settings.port()), BACKLOG);
      server.setExecutor(endpoint.workers);
      server.createContext("/", endpoint::handle);
      server.start();
      endpoint.server = server;
    } catch (IOException | RuntimeException e) {
      endpoint.workers.close();
      throw new IOException("cannot listen on " + settings.host() + ":" + settings.port()
          + " (settings pgamqp.http.host, pgamqp.http.port / env PGAMQP_HTTP_PORT): " + describeBind(e), e);
    }
    log.info("operations endpoint on http://{}:{} (/, /health/live, /health/ready, /metrics)",
        settings.host(), endpoint.port());
    return endpoint;
  }

  // System properties of the JDK server, read once per JVM when its first server is created; one given to the JVM
  // (-D) wins. Idle connections between requests are closed after idle-timeout (rounded up to whole seconds),
  // looked at every quarter of it (at most every second).
  private static synchronized void configureJdkServer(HttpSettings settings) {
    long idleMillis = settings.idleTimeout().toMillis();
    setIfAbsent("sun.net.httpserver.idleInterval", Long.toString(Math.max(1, (idleMillis + 999) / 1000)));
    setIfAbsent("sun.net.httpserver.clockTick", Long.toString(Math.max(50, Math.min(1000, idleMillis / 4))));
    setIfAbsent("sun.net.httpserver.maxReqHeaderSize", Integer.toString(MAX_REQUEST_HEAD_BYTES));
  }

  private static void setIfAbsent(String key, String value) {
    if (System.getProperty(key) == null) {
      System.setProperty(key, value);
    }
  }

  private static String describeBind(Exception e) {
    String message = e.getMessage();
    return message == null ? e.getClass().getSimpleName() : message;
  }

  /** The bound port (the chosen one when the setting is 0). */
  public int port() {
    return server.getAddress().getPort();
  }

  /** Stops at once: requests under way are cut off (a probe or scrape during shutdown is worth nothing). */
  @Override
  public void close() {
    HttpServer s = server;
    if (s != null) {
      s.stop(0);
    }
    workers.close();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try {
      discard(exchange.getRequestBody()); // still reading the client's socket: the idle timeout applies
      ExchangeWorkers.busy();
      Response response = respond(exchange);
      ExchangeWorkers.io();
      send(exchange, response);
    } finally {
      exchange.close();
    }
  }

  private Response respond(HttpExchange exchange) {
    try {
      Response refused = beyondLimits(exchange);
      if (refused != null) {
        return refused;
      }
      String method = exchange.getRequestMethod();
      if (!method.equals("GET") && !method.equals("HEAD")) {
        return new Response(405, JSON, json("method not allowed"), Map.of("Allow", "GET, HEAD"));
      }
      String path = exchange.getRequestURI().getPath(); // decoded: "%2F" is a "/" inside a segment, no route
      return switch (path == null ? "" : path) {
        case "/health/live" -> live();
        case "/health/ready" -> ready();
        case "/metrics" -> metrics();
        case "/" -> page();
        default -> notFound();
      };
    } catch (RuntimeException e) {
      log.debug("HTTP request {} failed", exchange.getRequestURI(), e);
      return new Response(500, JSON, json("internal error"));
    }
  }

  private static Response beyondLimits(HttpExchange exchange) {
    if (exchange.getRequestURI().toString().length() > MAX_URI_CHARS) {
      return new Response(414, JSON, json("the request target is longer than " + MAX_URI_CHARS + " characters"));
    }
    int count = 0;
    for (List<String> values : exchange.getRequestHeaders().values()) {
      for (String value : values) {
        if (++count > MAX_HEADERS || value.length() > MAX_HEADER_VALUE_CHARS) {
          return new Response(431, JSON, json("more than " + MAX_HEADERS + " headers or a header value longer than "
              + MAX_HEADER_VALUE_CHARS + " characters"));
        }
      }
    }
    return null;
  }

  private Response live() {
    boolean up;
    try {
      up = live.getAsBoolean();
    } catch (RuntimeException e) {
      up = false;
    }
    return new Response(up ? 200 : 503, JSON, bytes(up ? "{\"status\":\"UP\"}" : "{\"status\":\"DOWN\"}"));
  }

  private Response ready() {
    Readiness answer;
    try {
      answer = status.status().toCompletableFuture().thenApply(Readiness::of)
          .get(settings.statusTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      answer = Readiness.unavailable(describe(e.getCause() == null ? e : e.getCause()));
    } catch (TimeoutException | RuntimeException e) {
      answer = Readiness.unavailable(describe(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      answer = Readiness.unavailable("the operations endpoint is stopping");
    }
    String body = settings.showDetails() ? answer.json() : answer.ready()
        ? "{\"status\":\"UP\"}" : "{\"status\":\"DOWN\"}";
    return new Response(answer.ready() ? 200 : 503, JSON, bytes(body));
  }

  private Response page() {
    if (page == null || !settings.showDetails()) { // the page shows what show-details = false hides
      return notFound();
    }
    String html;
    try {
      // The page waits at most status-timeout for each of its sources; the margin is Akka HTTP's request-timeout.
      html = page.render().toCompletableFuture()
          .get(settings.statusTimeout().plusSeconds(5).toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      log.warn("rendering the operations page failed", e.getCause());
      return new Response(500, JSON, json("rendering the operations page failed: " + e.getCause()));
    } catch (TimeoutException e) {
      return new Response(503, JSON, json("the operations page was not ready in time"));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Response(503, JSON, json("the operations endpoint is stopping"));
    }
    return new Response(200, HTML, bytes(html), Map.of(
        "Content-Security-Policy", OperationsPage.CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options", "nosniff"));
  }

  private Response metrics() {
    ByteArrayOutputStream body = new ByteArrayOutputStream(64 * 1024);
    try {
      metrics.scrape(body);
    } catch (IOException | RuntimeException e) {
      log.warn("rendering /metrics failed", e);
      return new Response(500, JSON, json("rendering the metrics failed: " + e));
    }
    return new Response(200, PROMETHEUS, body.toByteArray());
  }

  private static Response notFound() {
    return new Response(404, JSON, json("not found; try /health/live, /health/ready or /metrics"));
  }

  private String describe(Throwable e) {
    while (e instanceof CompletionException && e.getCause() != null) {
      e = e.getCause();
    }
    if (e instanceof TimeoutException) {
      return "no answer within " + settings.statusTimeout().toMillis() + " ms (pgamqp.http.status-timeout)";
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }

  /** A HEAD gets the headers a GET would, without the body (as Akka HTTP's transparent HEAD did). */
  private static void send(HttpExchange exchange, Response response) throws IOException {
    Headers headers = exchange.getResponseHeaders();
    headers.set("Content-Type", response.contentType());
    headers.set("Cache-Control", "no-store");
    response.headers().forEach(headers::set);
    byte[] body = response.body();
    if (exchange.getRequestMethod().equals("HEAD")) {
      headers.set("Content-Length", Integer.toString(body.length)); // the GET's; the JDK sends none for HEAD
      exchange.sendResponseHeaders(response.code(), -1); // -1: no body; a length here makes the JDK warn
      return;
    }
    exchange.sendResponseHeaders(response.code(), body.length == 0 ? -1 : body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  // A request body has no meaning here; read it away (the JDK server drains at most 64 KiB, then drops the connection).
  private static void discard(InputStream body) throws IOException {
    body.close();
  }

  /** One answer: status code, Content-Type, body, and headers beyond Content-Type and Cache-Control. */
  private record Response(int code, String contentType, byte[] body, Map<String, String> headers) {
    Response(int code, String contentType, byte[] body) {
      this(code, contentType, body, Map.of());
    }
  }

  private static byte[] json(String message) {
    return bytes(Json.string(new StringBuilder("{\"error\":"), message).append('}').toString());
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
