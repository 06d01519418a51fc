package io.pgamqp.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.Bridge;
import io.pgamqp.outbox.StatusView;
import io.pgamqp.testkit.AmqpTestClient;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.HeadlessChromium;
import io.pgamqp.testkit.Route;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /} as an operator sees it: a bridge on the real PostgreSQL and RabbitMQ with one broker that delivered
 * 60 messages and dead-lettered an unroutable one, and one it cannot reach with 3 messages waiting. Headless Chromium
 * loads the page; each broker's row must show what {@code amqp.status} says, the rate must match what was
 * delivered, and no password, body or property value may appear. The screenshot stays in
 * {@code bridge/target/operations-page.png}.
 */
class OperationsPageEndToEndTest {
  static final Path SCREENSHOT = Path.of("target", "operations-page.png");
  private static final Pattern ROW = Pattern.compile("<tr data-broker=\"(\\d+)\">(.*?)</tr>", Pattern.DOTALL);
  private static final Pattern CELL = Pattern.compile("<td data-field=\"(\\w+)\"[^>]*>(.*?)</td>", Pattern.DOTALL);
  private static final Pattern TOTAL = Pattern.compile("data-total=\"([^\"]+)\"><b>([^<]*)</b>");

  @Test
  void showsEachBrokersStatusAsAmqpStatusSaysItAndNoSecrets() throws Exception {
    TestServers.assumeRabbitMq(); // an unroutable mandatory publish is dead-lettered: RabbitMQ's basic.return
    HeadlessChromium.assumeInstalled();
    String secret = String.format("%08x", ThreadLocalRandom.current().nextInt());
    String password = "pw-" + secret;
    String body = "body-" + secret;
    String correlation = "corr-" + secret;
    String replyTo = "reply-" + secret;
    try (TestDatabase db = TestServers.get().createDatabase("page"); AmqpTestClient amqp = new AmqpTestClient()) {
      Route route = Route.declare(amqp, "page");
      int delivering = db.insertBroker();
      int unreachable = (int) db.queryLong("insert into amqp.broker (host, port, vhost, username, password)"
          + " values ('127.0.0.1', 1, '/', 'page-user', ?) returning broker_id", password);
      try (Bridge bridge = BridgeRunner.start(db)) {
        long start = System.nanoTime();
        db.exec("select count(amqp.publish(?, ?, ?, ?::text || g, 2, 'text/plain', ?, ?))"
                + " from generate_series(1, 60) g",
            delivering, route.exchange(), route.routingKey(), body, replyTo, correlation);
        db.exec("select amqp.publish(?, ?, 'no-binding', ?)", delivering, route.exchange(), body + "-unroutable");
        db.exec("select count(amqp.publish(?, 'nowhere', 'k', ?::text || g)) from generate_series(1, 3) g",
            unreachable, body);
        assertEquals(60, amqp.drain(route.queue(), 60, Duration.ofSeconds(60)).size());
        Eventually.until("the unroutable message is dead-lettered, the other broker owned", Duration.ofSeconds(30),
            () -> db.queryLong("select count(*) from amqp.status where broker_id = ? and dead_letters = 1"
                + " and backlog = 0", delivering) == 1
                && db.queryLong("select count(*) from amqp.status where broker_id = ? and owner is not null"
                + " and last_error is not null", unreachable) == 1);

        String url = "http://127.0.0.1:" + bridge.httpPort() + "/";
        HttpResponse<String> raw = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(),
            HttpResponse.BodyHandlers.ofString());
        String dom = HeadlessChromium.dumpDom(url);
        double secondsSinceFirstPublish = (System.nanoTime() - start) / 1e9;
        StatusView.Reading status;
        try (Connection c = db.connect()) {
          status = StatusView.read(c);
        }
        HeadlessChromium.screenshot(url, SCREENSHOT, 1500, 520);
        System.out.println("operations page screenshot: " + SCREENSHOT.toAbsolutePath());

        assertEquals(200, raw.statusCode());
        assertTrue(raw.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        assertEquals(OperationsPage.CONTENT_SECURITY_POLICY,
            raw.headers().firstValue("Content-Security-Policy").orElse(""));
        for (String page : List.of(raw.body(), dom)) {
          for (String leaked : List.of(password, body, correlation, replyTo)) {
            assertFalse(page.contains(leaked), "the page shows " + leaked);
          }
          assertFalse(page.contains("<script") || page.contains(" src=") || page.contains("<link")
              || page.contains("url(") || page.contains("@import"), "self-contained: nothing to fetch");
        }
        assertTrue(raw.body().contains("<meta http-equiv=\"refresh\" content=\"5\">"), "reloads itself");

        Map<Integer, Map<String, String>> shown = rows(dom);
        assertEquals(2, shown.size(), dom);
        for (StatusView.Row row : status.rows()) {
          Map<String, String> cells = shown.get(row.brokerId());
          String where = "broker " + row.brokerId() + ": " + cells;
          assertEquals(StatusView.state(row), cells.get("state"), where);
          assertEquals(row.owner(), cells.get("owner"), where);
          assertEquals(row.connectedTo() == null ? "-" : row.connectedTo(), cells.get("connected_to"), where);
          assertEquals(String.format(Locale.ROOT, "%,d", row.backlog()), cells.get("backlog"), where);
          assertEquals(String.format(Locale.ROOT, "%,d", row.deadLetters()), cells.get("dead_letters"), where);
          assertEquals(row.addresses(), cells.get("addresses"), where);
          if (row.oldestPendingAge() == null) {
            assertEquals("-", cells.get("oldest_pending"), where);
          } else {
            long shownSeconds = seconds(cells.get("oldest_pending"));
            assertTrue(Math.abs(shownSeconds - row.oldestPendingAge().toSeconds()) <= 5,
                where + " vs amqp.status " + row.oldestPendingAge());
          }
        }
        assertTrue(List.of("running", "idle").contains(shown.get(delivering).get("state")), shown.toString());
        assertEquals("0", shown.get(delivering).get("backlog"));
        assertEquals("1", shown.get(delivering).get("dead_letters"));
        assertEquals("disconnected", shown.get(unreachable).get("state"));
        assertEquals("3", shown.get(unreachable).get("backlog"));
        assertEquals("0.0", shown.get(unreachable).get("rate"));
        // 60 delivered and 1 dead-lettered within the last minute: 60/60 or 61/60 per second, shown as 1.0
        double rate = Double.parseDouble(shown.get(delivering).get("rate"));
        if (secondsSinceFirstPublish < 55) {
          assertEquals(1.0, rate, 0.05, "rate of broker " + delivering);
        } else {
          assertTrue(rate > 0 && rate <= 1.05, "rate " + rate + " after " + secondsSinceFirstPublish + " s");
        }

        Map<String, String> totals = totals(dom);
        assertEquals("2", totals.get("brokers"));
        assertEquals("3", totals.get("backlog"));
        assertEquals("1", totals.get("dead letters"));
        assertEquals("0", totals.get("not owned"));

        byte[] png = Files.readAllBytes(SCREENSHOT);
        assertTrue(png.length > 10_000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G',
            "a PNG screenshot of " + png.length + " bytes");
      }
    }
  }

  /** The table's cells by broker_id and data-field, as text. */
  static Map<Integer, Map<String, String>> rows(String dom) {
    Map<Integer, Map<String, String>> rows = new HashMap<>();
    Matcher row = ROW.matcher(dom);
    while (row.find()) {
      Map<String, String> cells = new HashMap<>();
      Matcher cell = CELL.matcher(row.group(2));
      while (cell.find()) {
        cells.put(cell.group(1), text(cell.group(2)));
      }
      rows.put(Integer.parseInt(row.group(1)), cells);
    }
    return rows;
  }

  private static Map<String, String> totals(String dom) {
    Map<String, String> totals = new HashMap<>();
    Matcher m = TOTAL.matcher(dom);
    while (m.find()) {
      totals.put(m.group(1), text(m.group(2)));
    }
    return totals;
  }

  private static String text(String html) {
    return html.replaceAll("<[^>]+>", "").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"")
        .replace("&#39;", "'").replace("&amp;", "&").strip();
  }

  /** {@code 1m5s}, {@code 42s}, {@code <1s}: StatusView.human's format, back to seconds. */
  private static long seconds(String human) {
    if (human.equals("<1s")) {
      return 0;
    }
    long total = 0;
    Matcher m = Pattern.compile("(\\d+)([dhms])").matcher(human);
    while (m.find()) {
      long n = Long.parseLong(m.group(1));
      total += switch (m.group(2)) {
        case "d" -> n * 86_400;
        case "h" -> n * 3_600;
        case "m" -> n * 60;
        default -> n;
      };
    }
    return total;
  }
}
