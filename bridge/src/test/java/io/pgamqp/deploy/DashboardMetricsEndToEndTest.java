package io.pgamqp.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.pgamqp.Bridge;
import io.pgamqp.testkit.AmqpTestClient;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Route;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * config/grafana/pgamqp.json and config/prometheus/pgamqp-alerts.yaml against a running bridge (real PostgreSQL and
 * AMQP broker): every metric name their queries select is one the bridge's {@code GET /metrics} exports, once a
 * broker has delivered a message. A renamed metric fails here, not in an operator's empty panel or silent alert.
 */
class DashboardMetricsEndToEndTest {
  private static TestDatabase db;
  private static AmqpTestClient amqp;
  private static Bridge bridge;
  private static Set<String> exported;

  @BeforeAll
  static void runABridgeThatDelivered() throws Exception {
    db = TestServers.get().createDatabase("dashboard");
    amqp = new AmqpTestClient();
    Route route = Route.declare(amqp, "dashboard");
    int broker = db.insertBroker();
    bridge = BridgeRunner.start(db);
    db.exec("select amqp.publish(?, ?, ?, 'x')", broker, route.exchange(), route.routingKey());
    assertEquals(1, amqp.drain(route.queue(), 1, Duration.ofSeconds(30)).size());
    exported = sampleNames(scrape());
  }

  @AfterAll
  static void stop() {
    if (bridge != null) {
      bridge.close();
    }
    if (amqp != null) {
      amqp.close();
    }
    if (db != null) {
      db.close();
    }
  }

  @Test
  void everyMetricTheDashboardQueriesIsExported() throws Exception {
    JsonNode dashboard = new ObjectMapper().readTree(Distribution.repositoryFile("config/grafana/pgamqp.json")
        .toFile());
    Map<String, String> queries = new TreeMap<>();
    dashboard.path("panels").forEach(panel -> panel.path("targets").forEach(target ->
        queries.put(panel.path("title").asText() + " / " + target.path("refId").asText(),
            target.path("expr").asText())));
    dashboard.at("/templating/list").forEach(variable -> {
      if (variable.path("type").asText().equals("query")) {
        queries.put("variable " + variable.path("name").asText(), variable.at("/query/query").asText());
      }
    });
    assertTrue(queries.size() >= 15, "panels: rates, latency, backlog, age, dead letters, reconnects, ownership");
    assertExported(queries);
    Set<String> queried = new TreeSet<>();
    queries.values().forEach(q -> queried.addAll(PromQl.metricNames(q)));
    for (String required : List.of("pgamqp_messages_confirmed_total", "pgamqp_batch_confirm_latency_seconds_bucket",
        "pgamqp_outbox_backlog_rows", "pgamqp_outbox_oldest_age_seconds", "pgamqp_messages_dead_lettered_total",
        "pgamqp_broker_reconnects_total", "pgamqp_broker_owned")) {
      assertTrue(queried.contains(required), "the dashboard shows " + required);
    }
  }

  @Test
  void everyMetricTheAlertRulesQueryIsExported() throws Exception {
    JsonNode rules = new ObjectMapper(new YAMLFactory()).readTree(
        Distribution.repositoryFile("config/prometheus/pgamqp-alerts.yaml").toFile());
    Map<String, String> queries = new TreeMap<>();
    rules.path("groups").forEach(group -> group.path("rules").forEach(rule ->
        queries.put(rule.path("alert").asText(), rule.path("expr").asText())));
    assertEquals(Set.of("PgamqpBacklogOld", "PgamqpDeadLetters", "PgamqpBrokerNotOwned", "PgamqpBrokerNotConnected",
        "PgamqpBridgeAbsent"), queries.keySet());
    assertExported(queries);
  }

  private static void assertExported(Map<String, String> queries) {
    List<String> missing = new ArrayList<>();
    queries.forEach((where, query) -> {
      Set<String> names = PromQl.metricNames(query);
      assertFalse(names.isEmpty(), where + " selects no metric: " + query);
      names.stream().filter(n -> !exported.contains(n)).forEach(n -> missing.add(where + ": " + n));
    });
    assertEquals(List.of(), missing, "queried but not in /metrics");
  }

  private static String scrape() throws Exception {
    HttpResponse<String> response = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + bridge.httpPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());
    return response.body();
  }

  /** The sample names of a Prometheus text exposition (histograms give _bucket, _count and _sum). */
  private static Set<String> sampleNames(String text) {
    Set<String> names = new TreeSet<>();
    text.lines().filter(l -> !l.isBlank() && !l.startsWith("#"))
        .map(l -> l.split("[{\\s]", 2)[0]).forEach(names::add);
    return names;
  }
}
