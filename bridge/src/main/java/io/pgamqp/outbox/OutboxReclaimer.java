package io.pgamqp.outbox;

import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import io.pgamqp.config.BridgeSettings;
import io.pgamqp.logging.RepeatedWarnings;
import java.time.Duration;

/**
 * Keeps the outbox's files small whatever VACUUM can do: every {@code reclaim-interval}, when the outbox takes more
 * than {@code reclaim-above} on disk, it asks {@code amqp.outbox_reclaim} to rewrite it (TRUNCATE, the waiting rows
 * put back). Settled rows are deleted one by one and only VACUUM makes their space reusable; with autovacuum off or
 * behind, or while a long transaction holds the xmin horizon back, the outbox grew without bound. One per bridge
 * process; in a cluster each node's reclaimer may try, the outbox's lock makes them take turns.
 *
 * <p>One attempt at a time: ticks that come while one runs are ignored.
 */
public final class OutboxReclaimer {

  /** The reclaimer's protocol (timer ticks and its own query results). */
  public sealed interface Command {}

  private enum Tick implements Command { INSTANCE }

  private record Attempted(OutboxStore.Reclaim result, Throwable error) implements Command {}

  /** How long a reclaim waits for the outbox's lock: while it waits, publishers wait behind it. */
  static final Duration LOCK_WAIT = Duration.ofMillis(20);

  /** Above this many waiting rows the copy under the lock would take too long; a backlog drains first. */
  static final int MAX_ROWS = 10_000;

  private final ActorContext<Command> ctx;
  private final OutboxStore store;
  private final BridgeSettings settings;
  private final RepeatedWarnings stuck = new RepeatedWarnings(Duration.ofMinutes(1));
  private int missed;

  private OutboxReclaimer(ActorContext<Command> ctx, OutboxStore store, BridgeSettings settings) {
    this.ctx = ctx;
    this.store = store;
    this.settings = settings;
  }

  public static Behavior<Command> create(OutboxStore store, BridgeSettings settings) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.reclaimInterval());
      return new OutboxReclaimer(ctx, store, settings).waiting();
    }));
  }

  private Behavior<Command> waiting() {
    return Behaviors.receive(Command.class)
        .onMessageEquals(Tick.INSTANCE, () -> {
          ctx.pipeToSelf(store.reclaim(settings.reclaimAbove(), LOCK_WAIT, MAX_ROWS), Attempted::new);
          return attempting();
        })
        .build();
  }

  private Behavior<Command> attempting() {
    return Behaviors.receive(Command.class)
        .onMessageEquals(Tick.INSTANCE, Behaviors::same)
        .onMessage(Attempted.class, this::onAttempted)
        .build();
  }

  private Behavior<Command> onAttempted(Attempted a) {
    if (a.error() != null) {
      // The database away: the bridge says so elsewhere (readiness, the delivery streams); try at the next tick.
      ctx.getLog().debug("outbox reclaim: {}", a.error().getMessage());
      return waiting();
    }
    OutboxStore.Reclaim r = a.result();
    if (r.rewritten()) {
      missed = 0;
      ctx.getLog().debug("outbox reclaim: rewritten, {} -> {} bytes", r.bytesBefore(), r.bytesAfter());
    } else if (r.bytesBefore() > settings.reclaimAbove()) {
      missed++;
      long left = r.bytesBefore() > 4 * settings.reclaimAbove() ? stuck.admit() : -1;
      if (left >= 0) {
        ctx.getLog().warn("the outbox takes {} MB on disk (pgamqp.bridge.reclaim-above: {} MB) and could not be"
                + " rewritten {} times in a row: its lock did not come within {} ms (a transaction holding a lock on"
                + " amqp.outbox for long? see pg_locks) or over {} rows wait{}",
            r.bytesBefore() >> 20, settings.reclaimAbove() >> 20, missed, LOCK_WAIT.toMillis(), MAX_ROWS,
            left > 0 ? " (" + left + " such warnings left out)" : "");
      }
    }
    return waiting();
  }
}
