package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Route;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The operations endpoint of a running bridge (real PostgreSQL and RabbitMQ): health answers, and metrics and the
 * {@code amqp.status} view move with traffic.
 */
class OperationsEndToEndTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void healthAndMetricsFollowTrafficOnPostgresAndRabbitMq() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("ops", Map.of("pgamqp.bridge.progress-interval", "300ms"))) {
      Route route = Route.declare(t.amqp, "ops");
      int port = t.bridge().httpPort();
      assertTrue(port > 0, "the operations endpoint is bound");

      assertEquals(200, get(port, "/health/live").statusCode());
      Eventually.until("/health/ready answers 200", Duration.ofSeconds(20),
          () -> get(port, "/health/ready").statusCode() == 200);
      Eventually.until("the broker shows as connected", Duration.ofSeconds(20),
          () -> metric(port, "pgamqp_broker_connected", t.brokerId) == 1.0);
      double before = metric(port, "pgamqp_messages_confirmed_total", t.brokerId);

      List<Published.Message> sent =
          Published.commit(t.db, t.brokerId, route.exchange(), route.routingKey(), Published.bodies("ops", 300));
      Deliveries.drain(t.amqp, route.queue(), sent.size(), Duration.ofSeconds(30)).assertExactly(sent);
      Eventually.until("confirmed counter rose by 300", Duration.ofSeconds(20),
          () -> metric(port, "pgamqp_messages_confirmed_total", t.brokerId) - before == 300.0);
      String text = get(port, "/metrics").body();
      assertTrue(text.contains("pgamqp_batch_confirm_latency_seconds_count{broker=\"" + t.brokerId + "\""), text);
      assertTrue(metric(port, "pgamqp_outbox_query_seconds_count", t.brokerId, "claim") > 0, "claims are timed");
      assertTrue(metric(port, "pgamqp_outbox_query_seconds_count", t.brokerId, "settle") > 0, "settles are timed");
      assertTrue(text.contains("jvm_memory_used_bytes"), "JVM metrics are exported");

      // A backlog shows in the view and the gauge while the bridge is stopped, and shrinks once it runs again.
      t.stopBridge();
      Published.commit(t.db, t.brokerId, route.exchange(), route.routingKey(), Published.bodies("ops-backlog", 500));
      assertEquals(500, t.db.queryLong("select backlog from amqp.status where broker_id = ?", t.brokerId));
      t.startBridge(Map.of("pgamqp.bridge.progress-interval", "300ms"));
      int port2 = t.bridge().httpPort();
      t.awaitOutboxEmpty(Duration.ofSeconds(30));
      assertEquals(0, t.db.queryLong("select backlog from amqp.status where broker_id = ?", t.brokerId));
      Eventually.until("the backlog gauge reads 0", Duration.ofSeconds(20),
          () -> metric(port2, "pgamqp_outbox_backlog_rows", t.brokerId) == 0.0);
      assertEquals(1, t.db.queryLong(
          "select count(*) from amqp.status where broker_id = ? and owner is not null and connected_to is not null"
              + " and last_confirm_at is not null", t.brokerId), "the bridge reports itself in amqp.status");
    }
  }

  private static HttpResponse<String> get(int port, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The value of {@code name{broker="id"}} in the Prometheus text, or NaN when absent. */
  private static double metric(int port, String name, int brokerId) throws Exception {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{broker=\"" + brokerId + "\"[^}]*} (\\S+)$")
        .matcher(get(port, "/metrics").body());
    return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
  }

  /** A series of {@code name} for {@code brokerId} and one {@code query} label. */
  private static double metric(int port, String name, int brokerId, String query) throws Exception {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name + "{broker=\"" + brokerId + "\",query=\"" + query
        + "\"}") + " (\\S+)$").matcher(get(port, "/metrics").body());
    return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
  }
}
