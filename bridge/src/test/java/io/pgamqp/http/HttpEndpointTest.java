package io.pgamqp.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.broker.BridgeStatus;
import io.pgamqp.broker.BrokerStatus;
import io.pgamqp.broker.BrokerStatus.Phase;
import io.pgamqp.config.HttpSettings;
import io.pgamqp.metrics.MicrometerBridgeMetrics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The endpoint over real HTTP on a free port, with an in-test StatusSource. */
class HttpEndpointTest {

  private static final Instant SINCE = Instant.parse("2024-11-27T10:00:00Z");

  private final AtomicBoolean live = new AtomicBoolean(true);
  /** What the next readiness request gets; a stage, so tests can also leave it unanswered. */
  private final AtomicReference<CompletableFuture<BridgeStatus>> status = new AtomicReference<>();
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private MicrometerBridgeMetrics metrics;
  private HttpEndpoint endpoint;

  @BeforeEach
  void start() throws Exception {
    metrics = new MicrometerBridgeMetrics();
    HttpSettings settings = new HttpSettings(true, "127.0.0.1", 0, Duration.ofMillis(300));
    endpoint = HttpEndpoint.start(settings, live::get, () -> status.get(), metrics);
  }

  @AfterEach
  void stop() {
    endpoint.close();
    metrics.close();
  }

  private HttpResponse<String> get(String path) throws Exception {
    return send("GET", path);
  }

  private HttpResponse<String> send(String method, String path) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + endpoint.port() + path))
        .method(method, HttpRequest.BodyPublishers.noBody())
        .timeout(Duration.ofSeconds(10))
        .build();
    return client.send(request, HttpResponse.BodyHandlers.ofString());
  }

  private void answer(BridgeStatus s) {
    status.set(CompletableFuture.completedFuture(s));
  }

  @Test
  void boundAFreePort() {
    assertNotEquals(0, endpoint.port());
  }

  @Test
  void liveIsUpWhileTheBridgeRunsAndDownAfter() throws Exception {
    HttpResponse<String> up = get("/health/live");
    assertEquals(200, up.statusCode());
    assertEquals("{\"status\":\"UP\"}", up.body());
    assertEquals("application/json", up.headers().firstValue("Content-Type").orElse(""));

    live.set(false);
    HttpResponse<String> down = get("/health/live");
    assertEquals(503, down.statusCode());
    assertEquals("{\"status\":\"DOWN\"}", down.body());
  }

  @Test
  void readyWhenTheDatabaseAndTheOwnedBrokersAre() throws Exception {
    answer(new BridgeStatus(true, null, List.of(
        new BrokerStatus(1, Phase.RUNNING, true, "rabbit-a:5672", null, SINCE),
        new BrokerStatus(2, Phase.STANDBY, false, null, null, SINCE))));
    HttpResponse<String> r = get("/health/ready");
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().startsWith("{\"status\":\"UP\""), r.body());
    assertTrue(r.body().contains("\"connectedTo\":\"rabbit-a:5672\""), r.body());
  }

  @Test
  void notReadyNamesTheBrokerAndWhy() throws Exception {
    answer(new BridgeStatus(true, null, List.of(
        new BrokerStatus(1, Phase.RUNNING, true, "rabbit-a:5672", null, SINCE),
        new BrokerStatus(42, Phase.CONNECTING, true, null, null, SINCE))));
    HttpResponse<String> r = get("/health/ready");
    assertEquals(503, r.statusCode(), r.body());
    assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(""));
    assertTrue(r.body().startsWith("{\"status\":\"DOWN\",\"reasons\":[\"broker 42: connecting, not connected yet\"]"),
        r.body());
    assertTrue(r.body().contains("{\"broker\":42,\"ready\":false,\"reason\":\"connecting, not connected yet\""),
        r.body());
  }

  @Test
  void notReadyWithoutTheDatabase() throws Exception {
    answer(new BridgeStatus(false, "Connection to 127.0.0.1:5432 refused", List.of()));
    HttpResponse<String> r = get("/health/ready");
    assertEquals(503, r.statusCode());
    assertTrue(r.body().contains("database unreachable: Connection to 127.0.0.1:5432 refused"), r.body());
  }

  @Test
  void notReadyWhenTheStatusDoesNotComeInTime() throws Exception {
    status.set(new CompletableFuture<>()); // never completes
    long start = System.nanoTime();
    HttpResponse<String> r = get("/health/ready");
    assertEquals(503, r.statusCode());
    assertTrue(r.body().contains("bridge status unavailable: no answer within 300 ms (pgamqp.http.status-timeout)"),
        r.body());
    assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() < 5_000);
  }

  @Test
  void notReadyWhenTheStatusFails() throws Exception {
    status.set(CompletableFuture.failedFuture(new IllegalStateException("registry stopped")));
    HttpResponse<String> r = get("/health/ready");
    assertEquals(503, r.statusCode());
    assertTrue(r.body().contains("bridge status unavailable: registry stopped"), r.body());
  }

  @Test
  void pendingReadinessChecksDoNotBlockTheOtherRoutes() throws Exception {
    status.set(new CompletableFuture<>()); // each readiness check waits for its timeout
    List<CompletableFuture<HttpResponse<String>>> pending = new java.util.ArrayList<>();
    for (int i = 0; i < 6; i++) {
      pending.add(client.sendAsync(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + endpoint.port() + "/health/ready")).build(),
          HttpResponse.BodyHandlers.ofString()));
    }
    long start = System.nanoTime();
    assertEquals(200, get("/health/live").statusCode());
    assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() < 250,
        "live answered while readiness checks were pending");
    for (CompletableFuture<HttpResponse<String>> p : pending) {
      assertEquals(503, p.get().statusCode());
    }
  }

  @Test
  void metricsArePrometheusTextAndFollowTheCalls() throws Exception {
    metrics.published(1, 250);
    metrics.confirmed(1, 250);
    HttpResponse<String> first = get("/metrics");
    assertEquals(200, first.statusCode());
    assertEquals("text/plain; version=0.0.4; charset=utf-8",
        first.headers().firstValue("Content-Type").orElse(""));
    assertTrue(first.body().contains("pgamqp_messages_published_total{broker=\"1\"} 250.0"), first.body());
    assertTrue(first.body().contains("jvm_memory_used_bytes"), "JVM metrics");

    metrics.published(1, 50);
    HttpResponse<String> second = get("/metrics");
    assertTrue(second.body().contains("pgamqp_messages_published_total{broker=\"1\"} 300.0"), second.body());
  }

  @Test
  void headAnswersWithoutABody() throws Exception {
    HttpResponse<String> r = send("HEAD", "/health/live");
    assertEquals(200, r.statusCode());
    assertEquals("", r.body());
  }

  @Test
  void otherPathsAndMethodsAreRefused() throws Exception {
    assertEquals(404, get("/").statusCode());
    assertEquals(404, get("/health/live/extra").statusCode());
    HttpResponse<String> post = send("POST", "/metrics");
    assertEquals(405, post.statusCode());
    assertEquals("GET, HEAD", post.headers().firstValue("Allow").orElse(""));
  }
}
