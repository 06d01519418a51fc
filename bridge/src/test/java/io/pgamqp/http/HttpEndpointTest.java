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
    assertEquals("text/plain; version=0.0.4; charset=utf-8", // charset names are case-insensitive (RFC 9110)
        first.headers().firstValue("Content-Type").orElse("").toLowerCase(java.util.Locale.ROOT));
    assertTrue(first.body().contains("pgamqp_messages_published_total{broker=\"1\"} 250.0"), first.body());
    assertTrue(first.body().contains("jvm_memory_used_bytes"), "JVM metrics");

    metrics.published(1, 50);
    HttpResponse<String> second = get("/metrics");
    assertTrue(second.body().contains("pgamqp_messages_published_total{broker=\"1\"} 300.0"), second.body());
  }

  /**
   * The probe's finding: two clients that sent half a request line and went silent froze the JDK server's threads, and
   * /health/live timed out for 90 s. 50 such sockets, and every probe still answers within 1 s; the silent ones are
   * closed after the idle timeout.
   */
  @Test
  void fiftySlowSocketsCannotStarveLivenessAndAreClosedWhenIdle() throws Exception {
    HttpEndpoint strict = HttpEndpoint.start(new HttpSettings(true, "127.0.0.1", 0, Duration.ofMillis(300),
        Duration.ofSeconds(2), HttpSettings.DEFAULT_MAX_CONNECTIONS, true), live::get, () -> status.get(), metrics);
    List<java.net.Socket> slow = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < 50; i++) {
        java.net.Socket socket = new java.net.Socket("127.0.0.1", strict.port());
        socket.getOutputStream()
            .write("GET /health/live HTTP/1.1\r\nHo".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        slow.add(socket);
      }
      for (int i = 0; i < 10; i++) {
        long start = System.nanoTime();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + strict.port() + "/health/live")).timeout(Duration.ofSeconds(1)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() < 1000, "probe " + i + " took too long");
        Thread.sleep(50);
      }
      java.net.Socket first = slow.get(0);
      first.setSoTimeout(10_000);
      long start = System.nanoTime();
      int read;
      try {
        while ((read = first.getInputStream().read()) >= 0) {
          // a 408 or similar may come first; then the server closes
        }
      } catch (java.net.SocketException reset) {
        read = -1; // closed by the server
      }
      assertEquals(-1, read);
      long waited = Duration.ofNanos(System.nanoTime() - start).toMillis();
      assertTrue(waited < 6000, "a silent connection was closed after " + waited + " ms (idle timeout 2 s)");
    } finally {
      for (java.net.Socket socket : slow) {
        socket.close();
      }
      strict.close();
    }
  }

  /** Waiting for the bridge's status is not idleness: an idle timeout shorter than status-timeout cuts nothing off. */
  @Test
  void aStatusWaitLongerThanTheIdleTimeoutStillGetsItsAnswer() throws Exception {
    HttpEndpoint patient = HttpEndpoint.start(new HttpSettings(true, "127.0.0.1", 0, Duration.ofMillis(1500),
        Duration.ofMillis(300), HttpSettings.DEFAULT_MAX_CONNECTIONS, true), live::get, () -> status.get(), metrics);
    try {
      status.set(new CompletableFuture<>()); // never completes
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + patient.port() + "/health/ready")).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(503, r.statusCode());
      assertTrue(r.body().contains("no answer within 1500 ms (pgamqp.http.status-timeout)"), r.body());
    } finally {
      patient.close();
    }
  }

  @Test
  void withoutDetailsOnlyTheStatusIsShownAndNoPage() throws Exception {
    OperationsPage page = new OperationsPage(CompletableFuture::new,
        () -> CompletableFuture.completedFuture(new BridgeStatus(true, null, List.of())), id -> 0, "jdbc:x",
        Duration.ofMillis(100));
    HttpEndpoint terse = HttpEndpoint.start(new HttpSettings(true, "127.0.0.1", 0, Duration.ofMillis(300),
        HttpSettings.DEFAULT_IDLE_TIMEOUT, HttpSettings.DEFAULT_MAX_CONNECTIONS, false), live::get,
        () -> status.get(), metrics, page);
    try {
      answer(new BridgeStatus(true, null, List.of(new BrokerStatus(1, Phase.BACKOFF, true, null,
          "connection refused by rabbit-a.internal:5672", SINCE))));
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + terse.port() + "/health/ready")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode());
      assertEquals("{\"status\":\"UP\"}", r.body());
      answer(new BridgeStatus(false, "connection refused by db.internal:5432", List.of()));
      r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + terse.port() + "/health/ready")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(503, r.statusCode());
      assertEquals("{\"status\":\"DOWN\"}", r.body());
      r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + terse.port() + "/")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(404, r.statusCode(), "the operations page shows what show-details = false hides");
      r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + terse.port() + "/health/live")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode());
    } finally {
      terse.close();
    }
  }

  /** What the probe found to hold: traversal, huge URLs and headers refused; 2,000 requests, 100 at a time, answered. */
  @Test
  void traversalHugeRequestsAndAHundredClientsAtOnce() throws Exception {
    assertEquals(404, get("/health/live/..%2F..%2Fetc%2Fpasswd").statusCode());
    assertEquals(414, get("/health/live?" + "x".repeat(20_000)).statusCode());
    HttpResponse<String> bigHeader = client.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + endpoint.port() + "/health/live")).header("X-Big", "y".repeat(20_000))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertTrue(bigHeader.statusCode() == 431 || bigHeader.statusCode() == 400, "status " + bigHeader.statusCode());

    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(100);
    try {
      List<java.util.concurrent.Future<Integer>> answers = new java.util.ArrayList<>();
      for (int i = 0; i < 2000; i++) {
        answers.add(pool.submit(() -> get("/health/live").statusCode()));
      }
      for (java.util.concurrent.Future<Integer> a : answers) {
        assertEquals(200, a.get());
      }
    } finally {
      pool.shutdownNow();
    }
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
