package io.pgamqp.http;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.http.javadsl.Http;
import akka.http.javadsl.ServerBinding;
import akka.http.javadsl.model.ContentType;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpMethods;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.headers.Allow;
import akka.http.javadsl.model.headers.CacheControl;
import akka.http.javadsl.model.headers.CacheDirectives;
import akka.http.javadsl.model.headers.RawHeader;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.pgamqp.config.HttpSettings;
import io.pgamqp.metrics.MicrometerBridgeMetrics;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operations endpoint, on Akka HTTP's server (core, no routing DSL):
 * <ul>
 *   <li>{@code GET /}: the {@link OperationsPage} for people (HTML), when one is given;
 *   <li>{@code GET /health/live}: 200 {@code {"status":"UP"}} while the bridge runs, else 503;
 *   <li>{@code GET /health/ready}: 200 when the bridge is ready, else 503; the JSON body names the database's and
 *       each broker's state and why it is not ready ({@link Readiness} has the rules), or only the status when
 *       {@code pgamqp.http.show-details} is off;
 *   <li>{@code GET /metrics}: every metric in the Prometheus text format ({@code text/plain; version=0.0.4}).
 * </ul>
 * {@code HEAD} works too; other methods get 405, other paths 404.
 *
 * <p>Why Akka HTTP and not the JDK's server: that one reads each request on a pool thread, so a few clients that send
 * half a request line and go silent held every thread and liveness probes timed out (restarting a healthy bridge).
 * Here requests are parsed asynchronously, no thread waits for a client, and {@code pgamqp.http.idle-timeout} closes
 * silent connections.
 *
 * <p>Threading: the server runs on an actor system of its own ({@code pgamqp-http}, two to four threads), apart from
 * the bridge's, so that liveness still answers (503) when the bridge's system has stopped. No handler blocks: readiness
 * answers from the {@link StatusSource}'s stage when it completes, or after {@code status-timeout}.
 */
public final class HttpEndpoint implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HttpEndpoint.class);
  private static final ContentType JSON = ContentTypes.APPLICATION_JSON;
  private static final ContentType PROMETHEUS = ContentTypes.parse(MicrometerBridgeMetrics.CONTENT_TYPE);
  private static final ContentType HTML = ContentTypes.TEXT_HTML_UTF8;

  private final ActorSystem<Void> system;
  private final HttpSettings settings;
  private final BooleanSupplier live;
  private final StatusSource status;
  private final MicrometerBridgeMetrics metrics;
  private final OperationsPage page; // null: GET / is 404
  private volatile ServerBinding binding;

  private HttpEndpoint(ActorSystem<Void> system, HttpSettings settings, BooleanSupplier live, StatusSource status,
      MicrometerBridgeMetrics metrics, OperationsPage page) {
    this.system = system;
    this.settings = settings;
    this.live = live;
    this.status = status;
    this.metrics = metrics;
    this.page = page;
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
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "pgamqp-http", serverConfig(settings));
    HttpEndpoint endpoint = new HttpEndpoint(system, settings, live, status, metrics, page);
    try {
      endpoint.binding = Http.get(system).newServerAt(settings.host(), settings.port())
          .bind(endpoint::handle).toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      system.terminate();
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      throw new IOException("cannot listen on " + settings.host() + ":" + settings.port()
          + " (settings pgamqp.http.host, pgamqp.http.port / env PGAMQP_HTTP_PORT): " + cause.getMessage(), cause);
    } catch (InterruptedException e) {
      system.terminate();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while binding the operations endpoint", e);
    }
    log.info("operations endpoint on http://{}:{} (/, /health/live, /health/ready, /metrics)",
        settings.host(), endpoint.port());
    return endpoint;
  }

  // The server's own actor system: local only whatever the bridge's configuration says (cluster, remoting), from the
  // libraries' reference configuration and the pgamqp.http settings, so that nothing else can change how it serves.
  private static Config serverConfig(HttpSettings settings) {
    String text = """
        akka {
          actor.provider = local
          loggers = ["akka.event.slf4j.Slf4jLogger"]
          logging-filter = "akka.event.slf4j.Slf4jLoggingFilter"
          loglevel = WARNING
          stdout-loglevel = OFF
          log-dead-letters = off
          log-dead-letters-during-shutdown = off
          actor.default-dispatcher.fork-join-executor { parallelism-min = 2, parallelism-max = 4 }
          coordinated-shutdown.run-by-jvm-shutdown-hook = off
          http.server {
            server-header = ""
            transparent-head-requests = on
            idle-timeout = %d ms
            request-timeout = %d ms
            max-connections = %d
            backlog = 256
          }
        }
        """.formatted(settings.idleTimeout().toMillis(), settings.statusTimeout().plusSeconds(5).toMillis(),
        settings.maxConnections());
    return ConfigFactory.parseString(text).withFallback(ConfigFactory.defaultReference()).resolve();
  }

  /** The bound port (the chosen one when the setting is 0). */
  public int port() {
    return binding.localAddress().getPort();
  }

  /** Stops at once: requests under way are cut off (a probe or scrape during shutdown is worth nothing). */
  @Override
  public void close() {
    ServerBinding b = binding;
    if (b != null) {
      b.unbind();
    }
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      log.debug("the operations endpoint's actor system did not stop within 10 s", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private CompletionStage<HttpResponse> handle(HttpRequest request) {
    request.discardEntityBytes(system);
    try {
      // transparent-head-requests: a HEAD arrives as GET and its answer loses the body.
      if (!request.method().equals(HttpMethods.GET)) {
        return done(respond(405, JSON, json("method not allowed"))
            .addHeader(Allow.create(HttpMethods.GET, HttpMethods.HEAD)));
      }
      return switch (request.getUri().path()) {
        case "/health/live" -> done(live());
        case "/health/ready" -> ready();
        case "/metrics" -> done(metrics());
        case "/" -> page();
        default -> done(respond(404, JSON, json("not found; try /health/live, /health/ready or /metrics")));
      };
    } catch (RuntimeException e) {
      log.debug("HTTP request {} failed", request.getUri(), e);
      return done(respond(500, JSON, json("internal error")));
    }
  }

  private HttpResponse live() {
    boolean up;
    try {
      up = live.getAsBoolean();
    } catch (RuntimeException e) {
      up = false;
    }
    return respond(up ? 200 : 503, JSON, bytes(up ? "{\"status\":\"UP\"}" : "{\"status\":\"DOWN\"}"));
  }

  private CompletionStage<HttpResponse> ready() {
    CompletableFuture<Readiness> readiness;
    try {
      readiness = status.status().toCompletableFuture()
          .thenApply(Readiness::of)
          .orTimeout(settings.statusTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) {
      readiness = CompletableFuture.failedFuture(e);
    }
    return readiness.handle((r, e) -> {
      Readiness answer = r != null ? r : Readiness.unavailable(describe(e));
      String body = settings.showDetails() ? answer.json() : answer.ready()
          ? "{\"status\":\"UP\"}" : "{\"status\":\"DOWN\"}";
      return respond(answer.ready() ? 200 : 503, JSON, bytes(body));
    });
  }

  private CompletionStage<HttpResponse> page() {
    if (page == null || !settings.showDetails()) { // the page shows what show-details = false hides
      return done(respond(404, JSON, json("not found; try /health/live, /health/ready or /metrics")));
    }
    return page.render().handle((html, e) -> {
      if (html == null) {
        log.warn("rendering the operations page failed", e);
        return respond(500, JSON, json("rendering the operations page failed: " + e));
      }
      return respond(200, HTML, bytes(html))
          .addHeader(RawHeader.create("Content-Security-Policy", OperationsPage.CONTENT_SECURITY_POLICY))
          .addHeader(RawHeader.create("X-Content-Type-Options", "nosniff"));
    });
  }

  private HttpResponse metrics() {
    ByteArrayOutputStream body = new ByteArrayOutputStream(64 * 1024);
    try {
      metrics.scrape(body);
    } catch (IOException | RuntimeException e) {
      log.warn("rendering /metrics failed", e);
      return respond(500, JSON, json("rendering the metrics failed: " + e));
    }
    return respond(200, PROMETHEUS, body.toByteArray());
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

  private static HttpResponse respond(int code, ContentType contentType, byte[] body) {
    return HttpResponse.create()
        .withStatus(code)
        .withEntity(HttpEntities.create(contentType, body))
        .addHeader(CacheControl.create(CacheDirectives.NO_STORE));
  }

  private static CompletionStage<HttpResponse> done(HttpResponse response) {
    return CompletableFuture.completedFuture(response);
  }

  private static byte[] json(String message) {
    return bytes(Json.string(new StringBuilder("{\"error\":"), message).append('}').toString());
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
