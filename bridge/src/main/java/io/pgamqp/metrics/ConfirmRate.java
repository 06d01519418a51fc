package io.pgamqp.metrics;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Confirmed messages per second over the last minute, per broker, as this bridge confirmed them: the rate the
 * operations page ({@code GET /}) shows. Sixty one-second slots per broker; a slot older than the window counts as
 * zero, so an idle broker's rate falls to 0 within a minute.
 *
 * <p>Threading: thread-safe. {@link #confirmed} is called once per settled batch (not per message) and takes the
 * broker's monitor briefly; {@link #perSecond} may be called from any thread. The clock is injected for tests.
 */
public final class ConfirmRate implements BridgeMetrics {
  /** The window {@link #perSecond} averages over. */
  public static final Duration WINDOW = Duration.ofSeconds(60);
  private static final int SLOTS = (int) WINDOW.toSeconds();

  private final LongSupplier nanoClock;
  private final ConcurrentHashMap<Integer, Slots> brokers = new ConcurrentHashMap<>();

  public ConfirmRate() {
    this(System::nanoTime);
  }

  /** @param nanoClock a monotonic clock in nanoseconds, like {@link System#nanoTime()} */
  public ConfirmRate(LongSupplier nanoClock) {
    this.nanoClock = nanoClock;
  }

  @Override
  public void confirmed(int brokerId, int messages) {
    brokers.computeIfAbsent(brokerId, id -> new Slots()).add(second(), messages);
  }

  @Override
  public void brokerRemoved(int brokerId) {
    brokers.remove(brokerId);
  }

  /** Messages per second this bridge confirmed for {@code brokerId} over the last {@link #WINDOW}; 0 if none. */
  public double perSecond(int brokerId) {
    Slots slots = brokers.get(brokerId);
    return slots == null ? 0 : slots.sum(second()) / (double) SLOTS;
  }

  private long second() {
    return Math.floorDiv(nanoClock.getAsLong(), 1_000_000_000L);
  }

  /** counts[i] holds the messages of second seconds[i]; i = second mod SLOTS. Guarded by this. */
  private static final class Slots {
    private final long[] seconds = new long[SLOTS];
    private final long[] counts = new long[SLOTS];

    Slots() {
      Arrays.fill(seconds, Long.MIN_VALUE);
    }

    synchronized void add(long second, long messages) {
      int i = (int) Math.floorMod(second, (long) SLOTS);
      if (seconds[i] != second) {
        seconds[i] = second;
        counts[i] = 0;
      }
      counts[i] += messages;
    }

    /** Messages of the SLOTS seconds up to and including {@code now}. */
    synchronized long sum(long now) {
      long total = 0;
      for (int i = 0; i < SLOTS; i++) {
        if (seconds[i] > now - SLOTS && seconds[i] <= now) {
          total += counts[i];
        }
      }
      return total;
    }
  }
}
