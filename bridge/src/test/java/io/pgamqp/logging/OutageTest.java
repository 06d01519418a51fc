package io.pgamqp.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Outage: one line when it starts, one when it ends, none per retry. */
class OutageTest {

  @Test
  void onlyTheFirstFailureAndTheRecoveryAreReported() {
    AtomicLong now = new AtomicLong(1_000);
    Outage outage = new Outage(now::get);
    assertNull(outage.recovered(), "nothing was down");
    assertTrue(outage.failed());
    now.addAndGet(2_000_000_000L);
    assertFalse(outage.failed());
    assertFalse(outage.failed());
    assertTrue(outage.isDown());
    now.addAndGet(500_000_000L);
    assertEquals(new Outage.Ended(Duration.ofMillis(2_500), 3), outage.recovered());
    assertFalse(outage.isDown());
    assertNull(outage.recovered(), "reported once");
    assertTrue(outage.failed(), "a new outage is reported again");
  }
}
