package io.pgamqp.badinput;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.AppenderBase;
import io.pgamqp.testkit.AmqpTestClient;
import io.pgamqp.testkit.TestDatabase;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.LoggerFactory;

/** Small helpers shared by the bad-input and security tests. */
public final class Harness {
  private Harness() {}

  /** Publishes {@code bodies} to (exchange, "k") in one committed transaction. */
  public static void publish(TestDatabase db, int brokerId, String exchange, List<String> bodies) throws SQLException {
    try (Connection c = db.connect()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps = c.prepareStatement("select amqp.publish(?, ?, 'k', ?)")) {
        for (String b : bodies) {
          ps.setInt(1, brokerId);
          ps.setString(2, exchange);
          ps.setString(3, b);
          ps.executeQuery().close();
        }
      }
      c.commit();
    }
  }

  public static List<String> bodies(String prefix, int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(prefix + "-" + i);
    }
    return out;
  }

  /** Bodies of what arrived, in arrival order. */
  public static List<String> drainBodies(AmqpTestClient amqp, String queue, int expected, Duration timeout) {
    return amqp.drain(queue, expected, timeout).stream()
        .map(d -> new String(d.getBody(), StandardCharsets.UTF_8)).toList();
  }

  /** The first column of the first row as text (null when none). */
  public static String text(TestDatabase db, String sql, Object... args) throws SQLException {
    try (Connection c = db.connect(); PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  /** Everything logged (message, arguments and exception texts) while open. */
  public static final class LogCapture extends AppenderBase<ILoggingEvent> implements AutoCloseable {
    private final StringBuilder text = new StringBuilder();

    public LogCapture() {
      setContext((LoggerContext) LoggerFactory.getILoggerFactory());
      start();
      root().addAppender(this);
    }

    private static Logger root() {
      return (Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME);
    }

    @Override
    protected synchronized void append(ILoggingEvent e) {
      text.append(e.getLevel()).append(' ').append(e.getLoggerName()).append(": ").append(e.getFormattedMessage())
          .append('\n');
      for (IThrowableProxy t = e.getThrowableProxy(); t != null; t = t.getCause()) {
        text.append("  ").append(t.getClassName()).append(": ").append(t.getMessage()).append('\n');
      }
    }

    public synchronized String text() {
      return text.toString();
    }

    @Override
    public void close() {
      root().detachAppender(this);
      stop();
    }
  }
}
