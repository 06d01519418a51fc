package io.pgamqp.broker;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/** Exponential backoff with jitter, so many bridges do not reconnect in lock-step. Immutable. */
record Backoff(Duration min, Duration max, double jitter) {

  /** The pause before attempt number {@code failures} (1 = first retry). */
  Duration next(int failures) {
    double base = min.toMillis() * Math.pow(2, Math.max(0, failures - 1));
    double capped = Math.min(base, max.toMillis());
    double factor = 1 + jitter * (ThreadLocalRandom.current().nextDouble() * 2 - 1);
    return Duration.ofMillis(Math.max(1, Math.round(capped * factor)));
  }
}
