package io.pgamqp.metrics;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs how fast each broker's backlog drains, at INFO and at most once per interval
 * ({@code pgamqp.bridge.progress-interval}), only while it has a backlog:
 * <pre>broker 1: 12,340 msg/s over the last 10 s, backlog 87,660 (oldest 42 s)</pre>
 * Silent while idle. The rate is confirmed messages per second since the previous line (or since the backlog
 * appeared).
 *
 * <p>Feed it either as a {@link BridgeMetrics} ({@link #confirmed} adds up, {@link #backlog} is the periodic sample
 * that may log — combine it with the Prometheus metrics through {@link BridgeMetrics#combine}), or by calling
 * {@link #sample} with a running total of confirmed messages; not both for one broker.
 *
 * <p>Threading: thread-safe; samples of one broker are serialised on its state. The clock is injected for tests.
 */
public final class DrainProgress implements BridgeMetrics {
  private static final Logger log = LoggerFactory.getLogger(DrainProgress.class);

  private final long intervalNanos;
  private final LongSupplier nanoClock;
  private final Consumer<String> sink;
  private final ConcurrentHashMap<Integer, BrokerProgress> brokers = new ConcurrentHashMap<>();

  /** Logs through SLF4J (logger {@code io.pgamqp.metrics.DrainProgress}) at INFO. */
  public DrainProgress(Duration interval) {
    this(interval, System::nanoTime, null);
  }

  /**
   * @param nanoClock a monotonic clock in nanoseconds, like {@link System#nanoTime()}
   * @param sink receives each line; null logs at INFO
   */
  public DrainProgress(Duration interval, LongSupplier nanoClock, Consumer<String> sink) {
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("interval must be positive, was " + interval);
    }
    this.intervalNanos = interval.toNanos();
    this.nanoClock = nanoClock;
    this.sink = sink;
  }

  @Override
  public void confirmed(int brokerId, int messages) {
    progress(brokerId).confirmed.add(messages);
  }

  @Override
  public void backlog(int brokerId, long rows, double oldestAgeSeconds) {
    BrokerProgress p = progress(brokerId);
    p.sample(p.confirmed.sum(), rows, oldestAgeSeconds, nanoClock.getAsLong());
  }

  @Override
  public void brokerRemoved(int brokerId) {
    brokers.remove(brokerId);
  }

  /**
   * A sample: the broker has confirmed {@code confirmedTotal} messages so far (a running total), and {@code backlog}
   * rows wait, the oldest {@code oldestAgeSeconds} old. Logs a line if the broker has a backlog and the interval has
   * passed since its last line, or since the backlog appeared.
   */
  public void sample(int brokerId, long confirmedTotal, long backlog, double oldestAgeSeconds) {
    progress(brokerId).sample(confirmedTotal, backlog, oldestAgeSeconds, nanoClock.getAsLong());
  }

  private BrokerProgress progress(int brokerId) {
    BrokerProgress p = brokers.get(brokerId);
    return p != null ? p : brokers.computeIfAbsent(brokerId, BrokerProgress::new);
  }

  private void emit(String line) {
    if (sink != null) {
      sink.accept(line);
    } else {
      log.info(line);
    }
  }

  /** The line for one interval; package-private for tests. */
  static String line(int brokerId, long confirmed, long elapsedNanos, long backlog, double oldestAgeSeconds) {
    double seconds = elapsedNanos / 1e9;
    double rate = seconds > 0 ? confirmed / seconds : 0;
    String rateText = rate < 10 && rate != Math.rint(rate)
        ? String.format(Locale.ROOT, "%.1f", rate)
        : String.format(Locale.ROOT, "%,d", Math.round(rate));
    return String.format(Locale.ROOT, "broker %d: %s msg/s over the last %d s, backlog %,d (oldest %d s)",
        brokerId, rateText, Math.round(seconds), backlog, Math.round(oldestAgeSeconds));
  }

  private final class BrokerProgress {
    final int brokerId;
    final LongAdder confirmed = new LongAdder();
    // guarded by this
    private boolean started;
    private long sinceNanos;
    private long confirmedSince;

    BrokerProgress(int brokerId) {
      this.brokerId = brokerId;
    }

    void sample(long confirmedTotal, long backlog, double oldestAgeSeconds, long now) {
      String line = null;
      synchronized (this) {
        if (!started || backlog <= 0) {
          // The first sample, or idle: the next line measures from here.
          started = true;
          sinceNanos = now;
          confirmedSince = confirmedTotal;
          return;
        }
        long elapsed = now - sinceNanos;
        if (elapsed < intervalNanos) {
          return;
        }
        if (sink != null || log.isInfoEnabled()) {
          line = line(brokerId, confirmedTotal - confirmedSince, elapsed, backlog, oldestAgeSeconds);
        }
        sinceNanos = now;
        confirmedSince = confirmedTotal;
      }
      if (line != null) {
        emit(line);
      }
    }
  }
}
