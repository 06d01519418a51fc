package io.pgamqp.faults;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Records what the in-process bridge logs under {@code io.pgamqp}, with a monotonic timestamp, so a test can tell when
 * the bridge noticed a fault. Thread-safe; {@link #close()} detaches it.
 */
final class LogWatch extends AppenderBase<ILoggingEvent> implements AutoCloseable {

  /** One logged line: when ({@link System#nanoTime()}), level, formatted message. */
  record Line(long nanos, String level, String logger, String message) {}

  private final List<Line> lines = new ArrayList<>();
  private final Logger logger;

  LogWatch() {
    logger = (Logger) LoggerFactory.getLogger("io.pgamqp");
    setContext(logger.getLoggerContext());
    setName("fault-test-log-watch");
    start();
    logger.addAppender(this);
  }

  @Override
  protected void append(ILoggingEvent e) {
    synchronized (lines) {
      lines.add(new Line(System.nanoTime(), e.getLevel().toString(), e.getLoggerName(), e.getFormattedMessage()));
    }
  }

  /** The first line at or after {@code sinceNanos} containing {@code text}, or null. */
  Line first(String text, long sinceNanos) {
    synchronized (lines) {
      for (Line l : lines) {
        if (l.nanos() >= sinceNanos && l.message().contains(text)) {
          return l;
        }
      }
    }
    return null;
  }

  /** Waits up to {@code timeoutMillis} for {@link #first}; null when it did not appear. */
  Line await(String text, long sinceNanos, long timeoutMillis) throws InterruptedException {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
    while (System.nanoTime() < deadline) {
      Line l = first(text, sinceNanos);
      if (l != null) {
        return l;
      }
      Thread.sleep(20);
    }
    return first(text, sinceNanos);
  }

  /** Lines logged at ERROR by a logger whose name ends with {@code loggerSuffix}. */
  List<Line> errorsOf(String loggerSuffix) {
    synchronized (lines) {
      return lines.stream().filter(l -> l.level().equals("ERROR") && l.logger().endsWith(loggerSuffix)).toList();
    }
  }

  int count(String text) {
    synchronized (lines) {
      return (int) lines.stream().filter(l -> l.message().contains(text)).count();
    }
  }

  @Override
  public void close() {
    logger.detachAppender(this);
    stop();
  }
}
