package io.pgamqp.outbox;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One broker's held destinations: exchanges the broker refused for a reason of their own (missing: 404 on publish,
 * or a declaration that found them missing). Their messages are not sent, and stay in the outbox in order, while
 * every other destination flows; a held one is checked again by the broker's supervisor and lifted once it exists.
 * Lifting (or a hold expiring: its messages are then dead-lettered) asks the claim to start over from the oldest
 * pending row ({@link #takeResume()}), so that the held messages go out in their order.
 *
 * <p>Shared by one broker's supervisor and the stages of its delivery stream (the publisher marks holds from the
 * AMQP connection's thread): thread-safe, and nothing else holds a reference. The listener runs on the thread that
 * changed the hold.
 */
public final class DestinationHolds {

  /** A held exchange: since when (the first refusal), why, and whether hold-timeout has passed. Immutable. */
  public record Hold(String exchange, Instant since, String lastError, boolean expired) {}

  /** Told once when a destination is held and once when it is lifted. */
  public interface Listener {
    void held(Hold hold);

    void lifted(Hold hold, String why);
  }

  private final ConcurrentHashMap<String, Hold> holds = new ConcurrentHashMap<>();
  private final AtomicBoolean resume = new AtomicBoolean();
  private final AtomicLong created = new AtomicLong();
  private final Runnable onResume;
  private final Listener listener;
  private final boolean expireAtOnce;

  /**
   * {@code onResume} wakes the claim (a sleeping source must notice {@link #takeResume()}); {@code expireAtOnce}:
   * hold-timeout is 0, so a hold is expired from the start.
   */
  public DestinationHolds(Runnable onResume, Listener listener, boolean expireAtOnce) {
    this.onResume = onResume;
    this.listener = listener;
    this.expireAtOnce = expireAtOnce;
  }

  /** The hold on {@code exchange}, or null (the common case, without a map lookup when nothing is held). */
  public Hold get(String exchange) {
    return holds.isEmpty() ? null : holds.get(exchange);
  }

  /** Holds {@code exchange}, unless it is held already (expired from the start when hold-timeout is 0). True if new. */
  public boolean hold(String exchange, String error) {
    Hold h = new Hold(exchange, Instant.now(), error, expireAtOnce);
    if (holds.putIfAbsent(exchange, h) != null) {
      return false;
    }
    created.incrementAndGet();
    listener.held(h);
    return true;
  }

  /** A hold recorded by an earlier owner (amqp.held_destination): kept with its first refusal's time. */
  public void restore(Hold h) {
    if (holds.putIfAbsent(h.exchange(), h) == null) {
      created.incrementAndGet();
    }
  }

  /** Lifts the hold on {@code exchange} (it exists now); its messages are claimed again in order. */
  public boolean lift(String exchange, String why) {
    Hold h = holds.remove(exchange);
    if (h == null) {
      return false;
    }
    listener.lifted(h, why);
    requestResume();
    return true;
  }

  /** hold-timeout passed: from now on its messages are dead-lettered, those already passed over among them. */
  public void expire(String exchange) {
    Hold h = holds.computeIfPresent(exchange, (k, v) -> v.expired() ? v : new Hold(k, v.since(), v.lastError(), true));
    if (h != null) {
      requestResume();
    }
  }

  /** True once after a hold was lifted or expired: the claim should start over from the oldest pending row. */
  public boolean takeResume() {
    return resume.getAndSet(false);
  }

  /** How many holds were ever made (a run that made one may resend at once: the refusal is explained). */
  public long created() {
    return created.get();
  }

  public List<Hold> all() {
    return new ArrayList<>(holds.values());
  }

  /** The held exchanges, for queries that must pass over their rows. */
  public String[] exchanges() {
    return holds.keySet().toArray(new String[0]);
  }

  public boolean isEmpty() {
    return holds.isEmpty();
  }

  private void requestResume() {
    resume.set(true);
    onResume.run();
  }
}
