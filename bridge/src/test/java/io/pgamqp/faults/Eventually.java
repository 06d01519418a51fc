package io.pgamqp.faults;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;

/** Polls a condition until it holds or a deadline passes, then fails naming it. */
final class Eventually {
  @FunctionalInterface
  interface Condition {
    boolean holds() throws Exception;
  }

  private Eventually() {}

  static void until(String what, Duration timeout, Condition condition) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.holds()) {
      if (System.nanoTime() > deadline) {
        fail("not within " + timeout.toMillis() + " ms: " + what);
      }
      Thread.sleep(50);
    }
  }
}
