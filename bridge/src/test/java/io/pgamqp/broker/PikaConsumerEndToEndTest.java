package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgamqp.testkit.AmqpEndpoint;
import io.pgamqp.testkit.Route;
import io.pgamqp.testkit.TestServers;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * pgamqp's AMQP encoding read by someone else's decoder: Python's pika (Debian's python3-pika, which .ci/run installs)
 * consumes a message queued by {@code amqp.publish_bytes} with headers of every JSON type, a binary body and every
 * property, and reports what it decoded. Off CI, without pika, the test is skipped; on CI it fails.
 */
@Tag("end-to-end")
@Timeout(120)
class PikaConsumerEndToEndTest {
  private static final Path PYTHON = Path.of("/usr/bin/python3");

  @Test
  void pikaDecodesTheHeadersPropertiesAndBinaryBodyAsSent() throws Exception {
    assumePika();
    try (BridgeUnderTest t = BridgeUnderTest.start("fidelity_pika")) {
      Route r = Route.declare(t.amqp, "pika");
      byte[] body = MessageFidelityEndToEndTest.everyByte();
      MessageFidelityEndToEndTest.sql(t, "select amqp.publish_bytes(?, ?, ?, ?, headers => ?::jsonb,"
          + " message_id => 'pika-1', type => 'order.created', app_id => 'shop', expiration => interval '1 minute',"
          + " priority => 5, content_encoding => 'identity', correlation_id => 'corr', reply_to => 'replies',"
          + " delivery_mode => 1)", t.brokerId, r.exchange(), r.routingKey(), body,
          MessageFidelityEndToEndTest.EVERY_TYPE);

      JsonNode got = pikaGet(r.queue());

      assertEquals(HexFormat.of().formatHex(body), got.path("body_hex").asText(), "byte-exact body");
      assertEquals("application/octet-stream", got.path("content_type").asText());
      assertEquals("identity", got.path("content_encoding").asText());
      assertEquals(1, got.path("delivery_mode").asInt());
      assertEquals(5, got.path("priority").asInt());
      assertEquals("corr", got.path("correlation_id").asText());
      assertEquals("replies", got.path("reply_to").asText());
      assertEquals("60000", got.path("expiration").asText());
      assertEquals("pika-1", got.path("message_id").asText());
      assertEquals("order.created", got.path("type").asText());
      assertEquals("shop", got.path("app_id").asText());
      assertTrue(got.path("timestamp").asLong() > 1_600_000_000L, got.toString());

      // Each value's AMQP type code as pika's decoder found it, with the exact value of 'l' and 'd' fields.
      JsonNode h = got.path("headers");
      assertField(h.path("s"), "S", null, "text ünï");
      assertField(h.path("i"), "l", "42", null);
      assertField(h.path("big"), "l", "9007199254740993", null);
      assertField(h.path("neg"), "l", "-5", null);
      assertField(h.path("d"), "d", "2.5", null);
      assertField(h.path("whole"), "d", "2.0", null);
      assertField(h.path("t"), "t", null, "true");
      assertField(h.path("f"), "t", null, "false");
      assertField(h.path("n"), "V", null, null);
      JsonNode a = h.path("a");
      assertEquals("A", a.path("kind").asText(), h.toString());
      assertField(a.path("value").get(0), "l", "1", null);
      assertField(a.path("value").get(1), "S", null, "x");
      JsonNode nested = a.path("value").get(2);
      assertEquals("A", nested.path("kind").asText());
      assertField(nested.path("value").get(0), "d", "2.5", null);
      assertField(nested.path("value").get(1), "V", null, null);
      JsonNode o = h.path("o");
      assertEquals("F", o.path("kind").asText());
      assertEquals("F", o.path("value").path("inner").path("kind").asText());
      assertField(o.path("value").path("inner").path("value").path("deep"), "l", "1", null);
    }
  }

  /** {@code exact}: the 8 bytes' value for 'l' and 'd'; {@code value}: pika's decoded value otherwise (null: skip). */
  private static void assertField(JsonNode field, String kind, String exact, String value) {
    assertEquals(kind, field.path("kind").asText(), field::toString);
    if (exact != null) {
      assertEquals(exact, field.path("exact").asText(), field::toString);
    }
    if (value != null) {
      assertEquals(value, field.path("value").asText(), field::toString);
    }
    if ("V".equals(kind)) {
      assertTrue(field.path("value").isNull(), field::toString);
    }
  }

  private static JsonNode pikaGet(String queue) throws Exception {
    Path script = Files.createTempFile("pika_get", ".py");
    try (InputStream in = PikaConsumerEndToEndTest.class.getResourceAsStream("pika_get.py")) {
      Files.write(script, in.readAllBytes());
    }
    try {
      AmqpEndpoint e = TestServers.get().amqp();
      Process p = new ProcessBuilder(PYTHON.toString(), script.toString(), e.host(), Integer.toString(e.port()),
          e.vhost(), e.username(), e.password(), queue, "30").redirectErrorStream(true).start();
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "pika_get.py finished");
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(0, p.exitValue(), out);
      return new ObjectMapper().readTree(out.lines().reduce((first, last) -> last).orElse("{}"));
    } finally {
      Files.deleteIfExists(script);
    }
  }

  /** Skips off CI when python3-pika is missing; on CI (which installs it) fails. */
  private static void assumePika() throws Exception {
    boolean present = Files.isExecutable(PYTHON)
        && new ProcessBuilder(PYTHON.toString(), "-c", "import pika").start().waitFor() == 0;
    if (!present && "true".equals(System.getenv("CI"))) {
      throw new AssertionError("python3-pika is missing; .ci/run installs it (apt-get install python3-pika)");
    }
    Assumptions.assumeTrue(present, "python3-pika not installed (apt-get install python3-pika)");
  }
}
