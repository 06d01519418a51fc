package io.pgamqp.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import io.pgamqp.Bridge;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * The probe's log flood and log injection, as a role with nothing but PUBLIC's rights: thousands of 7 kB junk
 * notifications on amqp_outbox, a payload and an exchange name with a newline and a forged line after it. The log, as
 * the bridge's logback.xml renders it, gets a paced warning or two, no payload verbatim and no forged line.
 */
@Tag("end-to-end")
@Timeout(120)
class LogFloodEndToEndTest {

  private static final String FORGED = "09:00:00.000 ERROR Bridge - password=hunter2";

  /** Renders every event with the bridge's own %msg (whatever logback.xml maps it to) into memory. */
  private static final class RenderedLog implements AutoCloseable {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();

    RenderedLog() {
      LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
      PatternLayoutEncoder encoder = new PatternLayoutEncoder();
      encoder.setContext(context);
      encoder.setPattern("%-5level %logger{0} - %msg%n");
      encoder.start();
      appender.setContext(context);
      appender.setEncoder(encoder);
      appender.setOutputStream(out);
      appender.start();
      root().addAppender(appender);
    }

    private static Logger root() {
      return (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    }

    synchronized List<String> lines() {
      return out.toString(StandardCharsets.UTF_8).lines().toList();
    }

    int bytes() {
      return out.size();
    }

    @Override
    public void close() {
      root().detachAppender(appender);
      appender.stop();
    }
  }

  @Test
  void junkNotificationsAndNewlinesInValuesNeitherFloodNorForgeTheLog() throws Exception {
    TestServers.assumeRabbitMq(); // unroutable messages rely on RabbitMQ's basic.return
    try (TestDatabase db = TestServers.get().createDatabase("log_flood");
         Roles outsider = new Roles(null);
         RenderedLog log = new RenderedLog()) {
      int id = db.insertBroker();
      try (Bridge bridge = BridgeRunner.start(db, Map.of("pgamqp.bridge.max-attempts", 1))) {
        Eventually.until("the bridge listens", Duration.ofSeconds(10),
            () -> db.queryLong("select count(*) from pg_stat_activity where application_name = 'pgamqp listener'"
                + " and datname = current_database()") == 1);
        try (Connection c = outsider.connect(db); Statement st = c.createStatement()) {
          for (int batch = 0; batch < 4; batch++) { // distinct payloads: identical ones fold into one
            st.execute("select pg_notify('amqp_outbox', " + batch + " || '-' || i || repeat('x', 7000))"
                + " from generate_series(1, 1000) i");
          }
          st.execute("select pg_notify('amqp_outbox', E'1x\\n" + FORGED + "')");
          st.execute("select pg_notify('amqp_disconnect', E'" + id + "\\n" + FORGED + "')");
          st.execute("select amqp.publish(" + id + ", E'missing\\n" + FORGED + "', 'k', 'body')");
          // 2,000 unroutable messages: dead-lettered with their reasons, logged a line per batch, not per message.
          st.execute("select count(amqp.publish(" + id + ", 'amq.direct', 'nobody-binds-this', 'u' || i))"
              + " from generate_series(1, 2000) i");
        }
        Eventually.until("every message is dead-lettered", Duration.ofSeconds(60),
            () -> db.queryLong("select count(*) from amqp.dead_letter") == 2001);
        // The junk went out before the message: by now the listener has read it all.
        Eventually.until("the junk is seen", Duration.ofSeconds(10),
            () -> log.lines().stream().anyMatch(l -> l.contains("ignoring a notification")));
      }
      List<String> lines = log.lines();
      long junkLines = lines.stream().filter(l -> l.contains("ignoring a notification")).count();
      assertTrue(junkLines >= 1 && junkLines <= 2, junkLines + " lines about junk notifications");
      assertTrue(log.bytes() < 200_000, "the log grew by " + log.bytes() + " bytes");
      long deadLetterLines = lines.stream().filter(l -> l.contains(": dead-lettered ")).count();
      assertTrue(deadLetterLines >= 2 && deadLetterLines <= 100, deadLetterLines + " lines for 2,001 dead letters");
      assertTrue(lines.stream().noneMatch(l -> l.contains("x".repeat(500))), "a payload was logged whole");
      for (String line : lines) {
        assertTrue(line.matches("^(TRACE|DEBUG|INFO |WARN |ERROR) \\S+ - .*"), "a line of its own: " + line);
      }
      assertTrue(lines.stream().anyMatch(l -> l.contains("missing\\n" + FORGED)),
          "the exchange name is logged, escaped");
      assertEquals(0, db.queryLong("select count(*) from amqp.outbox"));
    }
  }
}
