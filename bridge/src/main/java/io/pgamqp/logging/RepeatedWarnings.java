package io.pgamqp.logging;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Paces a warning that outsiders can trigger at will (e.g. a NOTIFY any role may send): the first one is logged, then
 * at most one per {@code interval}, and each logged one says how many were left out since the previous. Not
 * thread-safe: one owner (a thread or an actor).
 */
public final class RepeatedWarnings {
  private final long intervalNanos;
  private final LongSupplier nanoClock;
  private long lastLoggedAt;
  private boolean loggedAny;
  private long suppressed;

  public RepeatedWarnings(Duration interval) {
    this(interval, System::nanoTime);
  }

  RepeatedWarnings(Duration interval, LongSupplier nanoClock) {
    this.intervalNanos = interval.toNanos();
    this.nanoClock = nanoClock;
  }

  /**
   * Called for every occurrence: -1 when this one is to stay unlogged, else how many were left out before it (log it
   * then, saying so when that is more than 0).
   */
  public long admit() {
    long now = nanoClock.getAsLong();
    if (loggedAny && now - lastLoggedAt < intervalNanos) {
      suppressed++;
      return -1;
    }
    loggedAny = true;
    lastLoggedAt = now;
    long left = suppressed;
    suppressed = 0;
    return left;
  }

  /** " (N more like it were not logged)" for {@code left} > 0, else "". */
  public static String leftOut(long left, Duration interval) {
    return left > 0 ? " (" + left + " more like it in the last " + interval.toSeconds() + " s were not logged)" : "";
  }
}
