package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link Backoff}: doubling from min, capped at max, spread by the jitter both ways, never below 1 ms. */
class BackoffTest {
  private static final int SAMPLES = 2_000;

  @ParameterizedTest(name = "min {0} ms, max {1} ms, jitter {2}, failure {3}: {4}..{5} ms")
  @CsvSource({
      // min, max, jitter, failures, lowest, highest
      "100, 10000, 0,    1,   100,   100",
      "100, 10000, 0,    2,   200,   200",
      "100, 10000, 0,    4,   800,   800",
      "100, 10000, 0,    0,   100,   100", // not yet failed counts as the first retry
      "100, 10000, 0,    8, 10000, 10000", // 12.8 s capped
      "100, 10000, 0,  100, 10000, 10000", // no overflow however many failures
      "100, 10000, 0.2,  1,    80,   120",
      "100, 10000, 0.2,  3,   320,   480",
      "100, 10000, 0.2, 50,  8000, 12000", // the jitter applies to the cap too
      "1,   10,    0.9,  1,     1,     2", // never below 1 ms
      "0,   10,    0,    1,     1,     1"})
  void pausesWithinTheBounds(long min, long max, double jitter, int failures, long lowest, long highest) {
    Backoff b = new Backoff(Duration.ofMillis(min), Duration.ofMillis(max), jitter);
    Set<Long> seen = new HashSet<>();
    for (int i = 0; i < SAMPLES; i++) {
      long ms = b.next(failures).toMillis();
      assertTrue(ms >= lowest && ms <= highest, () -> ms + " ms not in " + lowest + ".." + highest);
      seen.add(ms);
    }
    if (jitter == 0) {
      assertEquals(1, seen.size(), "without jitter the pause is exact");
    } else if (highest - lowest >= 10) {
      // Spread, so that many bridges do not reconnect in lock-step: both halves of the range are used.
      long mid = (lowest + highest) / 2;
      assertTrue(seen.stream().anyMatch(ms -> ms < mid) && seen.stream().anyMatch(ms -> ms > mid), seen::toString);
    }
  }
}
