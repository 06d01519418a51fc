package io.pgamqp.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RepeatedWarningsTest {

  @Test
  void theFirstIsLoggedThenAtMostOnePerIntervalSayingHowManyWereLeftOut() {
    AtomicLong now = new AtomicLong(0);
    RepeatedWarnings w = new RepeatedWarnings(Duration.ofSeconds(10), now::get);
    assertEquals(0, w.admit());
    for (int i = 0; i < 20_000; i++) {
      assertEquals(-1, w.admit());
    }
    now.set(Duration.ofSeconds(10).toNanos());
    assertEquals(20_000, w.admit());
    now.addAndGet(Duration.ofSeconds(25).toNanos());
    assertEquals(0, w.admit(), "a quiet spell: nothing left out");
    assertEquals(" (3 more like it in the last 10 s were not logged)",
        RepeatedWarnings.leftOut(3, Duration.ofSeconds(10)));
    assertEquals("", RepeatedWarnings.leftOut(0, Duration.ofSeconds(10)));
  }
}
