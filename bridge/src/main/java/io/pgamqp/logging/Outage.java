package io.pgamqp.logging;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Whether something retried over and over (the database, for a lock attempt or LISTEN) is down, so that the bridge
 * logs an outage once when it starts and once when it ends, not at every retry: a database restart is two lines, not
 * one per backoff step. Not thread-safe: one owner (a thread or an actor).
 */
public final class Outage {
  /** An outage that ended: how long it lasted and how many attempts failed in it. */
  public record Ended(Duration lasted, int failedAttempts) {}

  private final LongSupplier nanoClock;
  private long since;
  private int failedAttempts;

  public Outage() {
    this(System::nanoTime);
  }

  Outage(LongSupplier nanoClock) {
    this.nanoClock = nanoClock;
  }

  /** Records a failed attempt: true for the first of an outage (log that one), false for the retries after it. */
  public boolean failed() {
    failedAttempts++;
    if (failedAttempts == 1) {
      since = nanoClock.getAsLong();
      return true;
    }
    return false;
  }

  /** Records a success: the outage it ended (log that), or null when nothing was down. */
  public Ended recovered() {
    if (failedAttempts == 0) {
      return null;
    }
    Ended ended = new Ended(Duration.ofNanos(nanoClock.getAsLong() - since), failedAttempts);
    failedAttempts = 0;
    return ended;
  }

  /** True between the first failed attempt and the next success. */
  public boolean isDown() {
    return failedAttempts > 0;
  }
}
