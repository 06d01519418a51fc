package io.pgamqp.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ConfirmRateTest {
  private static final long SECOND = 1_000_000_000L;
  private final AtomicLong clock = new AtomicLong(1_000 * SECOND);
  private final ConfirmRate rate = new ConfirmRate(clock::get);

  @Test
  void averagesTheLastMinutePerBroker() {
    assertEquals(0, rate.perSecond(1));
    rate.confirmed(1, 30);
    clock.addAndGet(10 * SECOND);
    rate.confirmed(1, 30);
    rate.confirmed(2, 6);
    assertEquals(1.0, rate.perSecond(1));
    assertEquals(0.1, rate.perSecond(2), 1e-9);
  }

  @Test
  void forgetsWhatIsOlderThanTheWindowAlsoWhenSlotsAreReused() {
    rate.confirmed(1, 60);
    clock.addAndGet(59 * SECOND);
    assertEquals(1.0, rate.perSecond(1), "59 s later the first second still counts");
    clock.addAndGet(SECOND);
    assertEquals(0, rate.perSecond(1), "60 s later it does not");
    rate.confirmed(1, 6); // same slot as the first second, a minute later
    assertEquals(0.1, rate.perSecond(1), 1e-9);
    clock.addAndGet(3_600 * SECOND);
    assertEquals(0, rate.perSecond(1));
  }

  @Test
  void aRemovedBrokerStartsAtZero() {
    rate.confirmed(3, 120);
    rate.brokerRemoved(3);
    assertEquals(0, rate.perSecond(3));
  }
}
