package io.pgamqp.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** DrainProgress on a fake clock: a line at most every interval, only while a broker has a backlog. */
class DrainProgressTest {

  private static final Duration INTERVAL = Duration.ofSeconds(10);

  private final AtomicLong clock = new AtomicLong(1_000_000_000L);
  private final List<String> lines = new ArrayList<>();
  private final DrainProgress progress = new DrainProgress(INTERVAL, clock::get, lines::add);

  private void advance(long seconds) {
    clock.addAndGet(TimeUnit.SECONDS.toNanos(seconds));
  }

  @Test
  void logsTheRateBacklogAndOldestAgeOncePerInterval() {
    progress.sample(1, 0, 200_000, 30);
    advance(5);
    progress.sample(1, 60_000, 140_000, 35);
    assertEquals(List.of(), lines, "not before the interval has passed");

    advance(5);
    progress.sample(1, 123_400, 87_660, 42);
    assertEquals(List.of("broker 1: 12,340 msg/s over the last 10 s, backlog 87,660 (oldest 42 s)"), lines);

    advance(3);
    progress.sample(1, 150_000, 60_000, 45);
    assertEquals(1, lines.size(), "at most once per interval");

    advance(9); // 12 s since the last line
    progress.sample(1, 243_400, 1_000, 50);
    assertEquals("broker 1: 10,000 msg/s over the last 12 s, backlog 1,000 (oldest 50 s)", lines.get(1));
  }

  @Test
  void silentWhileIdle() {
    for (int i = 0; i < 10; i++) {
      progress.sample(1, 100 * i, 0, 0);
      advance(30);
    }
    assertEquals(List.of(), lines);
  }

  @Test
  void aBacklogAfterIdleWaitsAFullIntervalAndCountsFromThen() {
    progress.sample(1, 5_000, 0, 0);
    advance(60);
    progress.sample(1, 5_000, 0, 0); // still idle: the baseline moves here
    advance(2);
    progress.sample(1, 5_000, 10, 1); // backlog appears
    assertEquals(List.of(), lines);
    advance(8);
    progress.sample(1, 5_050, 3, 2);
    assertEquals(List.of("broker 1: 5 msg/s over the last 10 s, backlog 3 (oldest 2 s)"), lines);
  }

  @Test
  void aStuckBacklogLogsZeroAndSlowRatesKeepADecimal() {
    progress.sample(2, 7, 500, 10);
    advance(10);
    progress.sample(2, 7, 500, 20);
    advance(10);
    progress.sample(2, 12, 495, 30);
    assertEquals(List.of(
        "broker 2: 0 msg/s over the last 10 s, backlog 500 (oldest 20 s)",
        "broker 2: 0.5 msg/s over the last 10 s, backlog 495 (oldest 30 s)"), lines);
  }

  @Test
  void brokersAreTrackedApart() {
    progress.sample(1, 0, 10, 1);
    progress.sample(2, 0, 0, 0);
    advance(10);
    progress.sample(1, 100, 10, 1);
    progress.sample(2, 100, 0, 0);
    assertEquals(List.of("broker 1: 10 msg/s over the last 10 s, backlog 10 (oldest 1 s)"), lines);
  }

  @Test
  void fedAsBridgeMetricsItCountsConfirmsBetweenBacklogSamples() {
    BridgeMetrics metrics = BridgeMetrics.combine(BridgeMetrics.NONE, progress);
    metrics.backlog(3, 1_000, 5);
    for (int i = 0; i < 4; i++) {
      metrics.confirmed(3, 250);
    }
    advance(10);
    metrics.backlog(3, 2_000, 7);
    assertEquals(List.of("broker 3: 100 msg/s over the last 10 s, backlog 2,000 (oldest 7 s)"), lines);

    metrics.brokerRemoved(3);
    advance(10);
    metrics.backlog(3, 2_000, 7); // starts over: a first sample
    assertEquals(1, lines.size());
  }

  @Test
  void logsAtInfoThroughSlf4j() {
    Logger logger = (Logger) LoggerFactory.getLogger(DrainProgress.class);
    ListAppender<ILoggingEvent> appender = new ListAppender<>();
    appender.start();
    logger.addAppender(appender);
    try {
      DrainProgress logging = new DrainProgress(INTERVAL, clock::get, null);
      logging.sample(1, 0, 10, 1);
      advance(10);
      logging.sample(1, 10, 10, 11);
      assertEquals(1, appender.list.size());
      assertEquals(Level.INFO, appender.list.get(0).getLevel());
      assertEquals("broker 1: 1 msg/s over the last 10 s, backlog 10 (oldest 11 s)",
          appender.list.get(0).getFormattedMessage());
    } finally {
      logger.detachAppender(appender);
    }
  }

  @Test
  void theIntervalMustBePositive() {
    assertThrows(IllegalArgumentException.class, () -> new DrainProgress(Duration.ZERO));
  }
}
