package io.pgamqp.testkit;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;

/** Polls a condition until it holds or a deadline passes, then fails naming it: waits are bounded, never hangs. */
public final class Eventually {
  private static final Duration PAUSE = Duration.ofMillis(50);

  /** A condition that may need a database or broker round trip. */
  @FunctionalInterface
  public interface Condition {
    boolean holds() throws Exception;
  }

  private Eventually() {}

  /**
   * Returns once {@code condition} holds; fails with {@code what} after {@code timeout}. A condition that throws (a
   * server still coming back) is asked again; the last failure is the cause of the timeout's.
   */
  public static void until(String what, Duration timeout, Condition condition) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Exception last = null;
      try {
        if (condition.holds()) {
          return;
        }
      } catch (Exception e) {
        last = e;
      }
      if (System.nanoTime() > deadline) {
        fail("not within " + timeout.toMillis() + " ms: " + what, last);
      }
      Thread.sleep(PAUSE.toMillis());
    }
  }
}
