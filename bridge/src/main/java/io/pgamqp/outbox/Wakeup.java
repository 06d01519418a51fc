package io.pgamqp.outbox;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Wakes an idle {@link OutboxSource} when a NOTIFY says rows arrived ({@link #signal()}) or delayed messages were
 * scheduled ({@link #signalScheduled()}: the source then looks for a due time earlier than the one it knew). Both are
 * thread-safe and may be called from any thread (the broker's actor); a signal sent while nobody waits is kept for
 * the next wait.
 */
public final class Wakeup {
  private final AtomicBoolean signalled = new AtomicBoolean();
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private volatile CompletableFuture<Void> waiter;

  public void signalScheduled() {
    scheduled.set(true);
    signal();
  }

  /** True once for each run of {@link #signalScheduled()} calls since the last time it returned true. */
  boolean takeScheduled() {
    return scheduled.getAndSet(false);
  }

  public void signal() {
    signalled.set(true);
    CompletableFuture<Void> w = waiter;
    if (w != null) {
      w.complete(null);
    }
  }

  /** Completes on the next signal, or after {@code max}, whichever comes first. One waiter at a time. */
  CompletionStage<Void> await(Duration max) {
    CompletableFuture<Void> w = new CompletableFuture<>();
    waiter = w;
    if (signalled.getAndSet(false)) {
      w.complete(null);
    }
    return w.completeOnTimeout(null, max.toNanos(), TimeUnit.NANOSECONDS);
  }
}
