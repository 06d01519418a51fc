package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Delivery;
import com.rabbitmq.client.LongString;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Route;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * Message fidelity through the real broker: headers of every JSON type with their AMQP types, binary and JSON bodies,
 * every basic property, the session's trace context, a producer's message-id, and a dead letter that keeps all of it
 * through a replay. SQL {@code amqp.publish*} → in-process bridge → RabbitMQ → the test's consumer.
 */
@Tag("end-to-end")
@Timeout(120)
class MessageFidelityEndToEndTest {

  static final String EVERY_TYPE = "{\"s\": \"text ünï\", \"i\": 42, \"big\": 9007199254740993, \"neg\": -5,"
      + " \"d\": 2.5, \"whole\": 2.0, \"t\": true, \"f\": false, \"n\": null, \"a\": [1, \"x\", [2.5, null]],"
      + " \"o\": {\"inner\": {\"deep\": 1}}}";

  @Test
  void headersOfEveryJsonTypeArriveAsTheirAmqpTypes() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("fidelity_headers")) {
      Route r = Route.declare(t.amqp, "headers");
      sql(t, "select amqp.publish(?, ?, ?, 'with headers', headers => ?::jsonb)", t.brokerId, r.exchange(),
          r.routingKey(), EVERY_TYPE);

      Map<String, Object> h = one(t, r).getProperties().getHeaders();
      assertEveryType(h);
    }
  }

  static void assertEveryType(Map<String, Object> h) {
    assertInstanceOf(LongString.class, h.get("s"));
    assertEquals("text ünï", h.get("s").toString());
    assertEquals(42L, h.get("i"));
    assertEquals(9007199254740993L, h.get("big"));
    assertEquals(-5L, h.get("neg"));
    assertEquals(2.5d, h.get("d"));
    assertEquals(2.0d, h.get("whole"), "written 2.0: a double");
    assertEquals(Boolean.TRUE, h.get("t"));
    assertEquals(Boolean.FALSE, h.get("f"));
    assertTrue(h.containsKey("n"));
    assertNull(h.get("n"), "void");
    List<?> a = (List<?>) h.get("a");
    assertEquals(1L, a.get(0));
    assertEquals("x", a.get(1).toString());
    assertEquals(List.of(2.5d), ((List<?>) a.get(2)).subList(0, 1));
    assertNull(((List<?>) a.get(2)).get(1));
    Map<?, ?> inner = (Map<?, ?>) ((Map<?, ?>) h.get("o")).get("inner");
    assertEquals(1L, inner.get("deep"));
  }

  @Test
  void aByteaBodyWithEveryByteValueArrivesByteExact() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("fidelity_bytes")) {
      Route r = Route.declare(t.amqp, "bytes");
      byte[] body = everyByte();
      sql(t, "select amqp.publish_bytes(?, ?, ?, ?)", t.brokerId, r.exchange(), r.routingKey(), body);

      Delivery d = one(t, r);
      assertArrayEquals(body, d.getBody());
      assertEquals("application/octet-stream", d.getProperties().getContentType());
    }
  }

  static byte[] everyByte() {
    byte[] body = new byte[512];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) (i % 256); // 0-255 twice, NULs among them
    }
    return body;
  }

  @Test
  void aJsonbPayloadArrivesAsItsJsonText() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("fidelity_json")) {
      Route r = Route.declare(t.amqp, "json");
      sql(t, "select amqp.publish_json(?, ?, ?, '{\"id\": 42, \"tags\": [\"a\", \"b\"]}'::jsonb)", t.brokerId,
          r.exchange(), r.routingKey());
      sql(t, "select amqp.publish_json(?, ?, ?, '[1, 2]'::jsonb, content_type => 'application/vnd.acme+json')",
          t.brokerId, r.exchange(), r.routingKey());

      List<Delivery> d = t.amqp.drain(r.queue(), 2, Duration.ofSeconds(20));
      assertEquals(2, d.size());
      assertEquals("{\"id\": 42, \"tags\": [\"a\", \"b\"]}", new String(d.get(0).getBody(), StandardCharsets.UTF_8));
      assertEquals("application/json", d.get(0).getProperties().getContentType());
      assertEquals("application/vnd.acme+json", d.get(1).getProperties().getContentType());
    }
  }

  @Test
  void everyBasicPropertyArrives() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("fidelity_props")) {
      Route r = Route.declare(t.amqp, "props");
      sql(t, "select amqp.publish(?, ?, ?, 'props', delivery_mode => 1, content_type => 'text/plain',"
          + " reply_to => 'replies', correlation_id => 'corr-1', message_id => 'order-42-created',"
          + " type => 'order.created', app_id => 'shop', expiration => interval '1.5 seconds' * 1000,"
          + " priority => 7, content_encoding => 'identity')", t.brokerId, r.exchange(), r.routingKey());

      AMQP.BasicProperties p = one(t, r).getProperties();
      assertEquals(1, p.getDeliveryMode());
      assertEquals("text/plain", p.getContentType());
      assertEquals("replies", p.getReplyTo());
      assertEquals("corr-1", p.getCorrelationId());
      assertEquals("order-42-created", p.getMessageId(), "the producer's id, not the outbox id");
      assertEquals("order.created", p.getType());
      assertEquals("shop", p.getAppId());
      assertEquals("1500000", p.getExpiration());
      assertEquals(7, p.getPriority());
      assertEquals("identity", p.getContentEncoding());
      assertNotNull(p.getTimestamp());
    }
  }

  @Test
  void theSessionsTraceContextTravelsAsHeadersAndAnExplicitHeaderWins() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("fidelity_trace")) {
      Route r = Route.declare(t.amqp, "trace");
      String traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
      try (Connection c = t.db.connect()) {
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
          st.execute("set local amqp.traceparent = '" + traceparent + "'");
          st.execute("set local amqp.tracestate = 'acme=1'");
          st.execute("select amqp.publish(" + t.brokerId + ", '" + r.exchange() + "', 'k', 'traced')");
          st.execute("select amqp.publish(" + t.brokerId + ", '" + r.exchange() + "', 'k', 'own state',"
              + " headers => '{\"tracestate\": \"mine=2\"}')");
        }
        c.commit();
        try (Statement st = c.createStatement()) { // the setting ended with the transaction
          st.execute("select amqp.publish(" + t.brokerId + ", '" + r.exchange() + "', 'k', 'untraced')");
        }
        c.commit();
      }

      List<Delivery> d = t.amqp.drain(r.queue(), 3, Duration.ofSeconds(20));
      assertEquals(3, d.size());
      Map<String, Object> first = d.get(0).getProperties().getHeaders();
      assertEquals(traceparent, first.get("traceparent").toString());
      assertEquals("acme=1", first.get("tracestate").toString());
      Map<String, Object> second = d.get(1).getProperties().getHeaders();
      assertEquals(traceparent, second.get("traceparent").toString());
      assertEquals("mine=2", second.get("tracestate").toString());
      assertNull(d.get(2).getProperties().getHeaders());
    }
  }

  @Test
  void publishManyGivesEveryMessageTheHeadersAndEachItsMessageId() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("fidelity_many")) {
      Route r = Route.declare(t.amqp, "many");
      sql(t, "select amqp.publish_many(?, ?, array['k'], array['a', 'b', 'c'], headers => '{\"batch\": 7}',"
          + " message_ids => array['id-a', null, 'id-c'])", t.brokerId, r.exchange());

      List<Delivery> d = t.amqp.drain(r.queue(), 3, Duration.ofSeconds(20));
      assertEquals(3, d.size());
      assertEquals("id-a", d.get(0).getProperties().getMessageId());
      assertTrue(d.get(1).getProperties().getMessageId().matches("\\d+"), "the outbox id");
      assertEquals("id-c", d.get(2).getProperties().getMessageId());
      for (Delivery x : d) {
        assertEquals(7L, x.getProperties().getHeaders().get("batch"));
      }
    }
  }

  @Test
  void ofTwoMessagesSharingAProducersMessageIdOnlyTheUnroutableOneIsDeadLettered() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("fidelity_dup")) {
      Route r = Route.declare(t.amqp, "dup");
      sql(t, "select amqp.publish(?, ?, 'nobody-binds-this', 'lost', message_id => 'same')", t.brokerId,
          r.exchange());
      sql(t, "select amqp.publish(?, ?, ?, 'kept', message_id => 'same')", t.brokerId, r.exchange(),
          r.routingKey());

      List<Delivery> d = t.amqp.drain(r.queue(), 1, Duration.ofSeconds(20));
      assertEquals(List.of("kept"), Deliveries.of(d).bodies());
      Eventually.until("one dead letter", Duration.ofSeconds(10), () -> t.deadLetters() == 1);
      assertEquals(1, t.db.queryLong("select count(*) from amqp.dead_letter where body = 'lost'"));
    }
  }

  @Test
  void aDeadLetterKeepsEveryFieldAndItsReplayRestoresThemExactly() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("fidelity_replay")) {
      Route r = Route.declare(t.amqp, "replay");
      byte[] body = everyByte();
      // Unroutable: nothing binds routing key "later" yet.
      sql(t, "select amqp.publish_bytes(?, ?, 'later', ?, headers => ?::jsonb, message_id => 'keep-me',"
          + " type => 't', app_id => 'a', expiration => interval '1 hour', priority => 3,"
          + " content_encoding => 'raw', content_type => 'application/x-raw', correlation_id => 'c',"
          + " reply_to => 'r', delivery_mode => 2)", t.brokerId, r.exchange(), body, EVERY_TYPE);
      Eventually.until("dead-lettered", Duration.ofSeconds(20), () -> t.deadLetters() == 1);
      assertEquals(0, t.db.queryLong("select count(*) from amqp.dead_letter where body is not null"),
          "a binary body stays binary");

      t.amqp.bind(r.queue(), r.exchange(), "later");
      sql(t, "select amqp.dead_letter_replay(broker_id => ?)", t.brokerId);

      Delivery d = one(t, r);
      assertArrayEquals(body, d.getBody());
      AMQP.BasicProperties p = d.getProperties();
      assertEveryType(p.getHeaders());
      assertEquals("keep-me", p.getMessageId());
      assertEquals("t", p.getType());
      assertEquals("a", p.getAppId());
      assertEquals("3600000", p.getExpiration());
      assertEquals(3, p.getPriority());
      assertEquals("raw", p.getContentEncoding());
      assertEquals("application/x-raw", p.getContentType());
      assertEquals("c", p.getCorrelationId());
      assertEquals("r", p.getReplyTo());
      assertEquals(2, p.getDeliveryMode());
    }
  }

  /**
   * Bodies and header values are the callers' data: a message that arrives, one dead-lettered as unroutable and one
   * retried against a missing exchange and dead-lettered leave neither in the bridge's log, its /metrics, amqp.status,
   * the broker's last error or the dead letters' reasons.
   */
  @Test
  void noBodyOrHeaderValueShowsInLogsMetricsStatusOrReasons() throws Exception {
    Logger root = (Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME);
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.setContext(root.getLoggerContext());
    log.start();
    root.addAppender(log);
    // hold-timeout 0: the message to the missing exchange is dead-lettered at once instead of held.
    try (BridgeUnderTest t = BridgeUnderTest.start("fidelity_secret", Map.of("pgamqp.bridge.max-attempts", 2,
        "pgamqp.bridge.hold-timeout", "0"))) {
      Route r = Route.declare(t.amqp, "secret");
      String headers = "{\"token\": \"HEADER-SECRET-1\", \"nested\": {\"k\": [\"HEADER-SECRET-2\"]}}";
      String missing = t.amqp.uniqueName("missing-x");
      sql(t, "select amqp.publish(?, ?, 'k', 'BODY-SECRET-1', headers => ?::jsonb)", t.brokerId, missing, headers);
      sql(t, "select amqp.publish_bytes(?, ?, 'unbound', convert_to('BODY-SECRET-2', 'UTF8'), headers => ?::jsonb)",
          t.brokerId, r.exchange(), headers);
      sql(t, "select amqp.publish_json(?, ?, ?, '{\"BODY-SECRET-3\": 1}', headers => ?::jsonb)", t.brokerId,
          r.exchange(), r.routingKey(), headers);

      assertEquals(1, t.amqp.drain(r.queue(), 1, Duration.ofSeconds(30)).size());
      Eventually.until("both failures dead-lettered", Duration.ofSeconds(60), () -> t.deadLetters() == 2);

      StringBuilder seen = new StringBuilder();
      HttpResponse<String> metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + t.bridge().httpPort() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      seen.append(metrics.body());
      try (Connection c = t.db.connect(); Statement st = c.createStatement()) {
        for (String q : List.of("select s::text from amqp.status s", "select reason from amqp.dead_letter",
            "select concat_ws(' ', last_error, owner, connected_to) from amqp.broker_state")) {
          try (ResultSet rs = st.executeQuery(q)) {
            while (rs.next()) {
              seen.append('\n').append(rs.getString(1));
            }
          }
        }
      }
      synchronized (log) {
        for (ILoggingEvent e : log.list) {
          seen.append('\n').append(e.getFormattedMessage());
        }
      }
      assertTrue(seen.indexOf("no exchange '" + missing + "'") >= 0, "the failures were logged and recorded");
      for (String secret : List.of("SECRET", "BODY-", "HEADER-")) {
        assertEquals(-1, seen.indexOf(secret), () -> secret + " shows in:\n" + seen);
      }
    } finally {
      root.detachAppender(log);
    }
  }

  private static Delivery one(BridgeUnderTest t, Route r) {
    List<Delivery> d = t.amqp.drain(r.queue(), 1, Duration.ofSeconds(20));
    assertEquals(1, d.size(), "one message");
    return d.get(0);
  }

  static void sql(BridgeUnderTest t, String sql, Object... args) throws Exception {
    try (Connection c = t.db.connect(); PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
      }
    }
  }
}
