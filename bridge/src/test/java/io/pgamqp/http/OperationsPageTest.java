package io.pgamqp.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.broker.BridgeStatus;
import io.pgamqp.broker.BrokerStatus;
import io.pgamqp.outbox.StatusView;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The page's HTML from fixed readings: no server, no browser. */
class OperationsPageTest {
  private static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");

  private static StatusView.Row row(int id, String owner, String connectedTo, long backlog, Duration oldest,
      long dead, String lastError) {
    return new StatusView.Row(id, "rabbit:5672", backlog, false, oldest, dead, false, lastError,
        lastError == null ? null : NOW, owner, owner == null ? null : NOW, connectedTo, connectedTo == null ? null : NOW,
        NOW.minusSeconds(3), false);
  }

  @Test
  void showsEachBrokerAndTheTotalsEscapingWhatTheDatabaseSays() {
    StatusView.Reading reading = new StatusView.Reading(List.of(
        row(1, "bridge-a:41", "rabbit:5672", 1_234, Duration.ofSeconds(75), 2, null),
        row(2, null, null, 5, Duration.ofSeconds(3), 0, "connect failed: <script>alert('x')</script> & more")),
        NOW);
    BridgeStatus local = new BridgeStatus(true, null, List.of(
        new BrokerStatus(1, BrokerStatus.Phase.RUNNING, true, "rabbit:5672", null, NOW)));
    String html = OperationsPage.html(new OperationsPage.View(reading, null, local, id -> id == 1 ? 12.34 : 0,
        "jdbc:postgresql://db:5432/app"));

    Map<Integer, Map<String, String>> rows = OperationsPageEndToEndTest.rows(html);
    assertEquals("running", rows.get(1).get("state"));
    assertEquals("bridge-a:41", rows.get(1).get("owner"));
    assertEquals("running (owner)", rows.get(1).get("this_node"));
    assertEquals("1,234", rows.get(1).get("backlog"));
    assertEquals("1m15s", rows.get(1).get("oldest_pending"));
    assertEquals("12.3", rows.get(1).get("rate"));
    assertEquals("3s ago", rows.get(1).get("last_confirm"));
    assertEquals("unowned", rows.get(2).get("state"));
    assertEquals("-", rows.get(2).get("this_node"));
    assertFalse(html.contains("<script>"), "escaped");
    assertTrue(html.contains("connect failed: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more"));
    assertTrue(html.contains("data-total=\"backlog\"><b>1,239</b>"));
    assertTrue(html.contains("data-total=\"not owned\"><b>1</b>"));
    assertTrue(html.contains("data-total=\"oldest pending\"><b>1m15s</b>"));
  }

  @Test
  void saysWhyWhenTheDatabaseOrTheNodeDoesNotAnswer() {
    String html = OperationsPage.html(new OperationsPage.View(null, "Connection refused", null, id -> 0, "jdbc:x"));
    assertTrue(html.contains("amqp.status could not be read: Connection refused"), html);
    assertTrue(html.contains("This node: no answer from its supervisors"), html);
    assertFalse(html.contains("<table"));

    String empty = OperationsPage.html(new OperationsPage.View(new StatusView.Reading(List.of(), NOW), null,
        new BridgeStatus(true, null, List.of()), id -> 0, "jdbc:x"));
    assertTrue(empty.contains("No brokers in amqp.broker yet."), empty);
  }

  @Test
  void rendersWithinTheTimeoutWhenASourceNeverAnswers() throws Exception {
    OperationsPage page = new OperationsPage(CompletableFuture::new,
        () -> CompletableFuture.completedFuture(new BridgeStatus(true, null, List.of())), id -> 0, "jdbc:x",
        Duration.ofMillis(100));
    String html = page.render().toCompletableFuture().get(5, java.util.concurrent.TimeUnit.SECONDS);
    assertTrue(html.contains("amqp.status could not be read: no answer within 100 ms"), html);
  }
}
