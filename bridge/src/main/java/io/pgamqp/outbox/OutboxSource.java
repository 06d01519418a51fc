package io.pgamqp.outbox;

import akka.NotUsed;
import akka.japi.Pair;
import akka.stream.javadsl.Source;
import io.pgamqp.config.BridgeSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams one broker's outbox rows in claim batches, only as fast as downstream demands (backpressure: at most one
 * claim query runs, and none while downstream is saturated, so memory stays bounded by the in-flight window however
 * large the backlog).
 *
 * <p>Rows are claimed in id order after a cursor ({@code broker_id = ? and id > ?}, one index range scan). Rows whose
 * transaction committed after the cursor passed them are found by {@link LateTransactions}; a fallback query, run only
 * when nothing is in flight, picks up anything still stranded below the cursor.
 *
 * <p>Waking up: while full batches keep coming it claims back to back; after a partial one it lingers
 * ({@code linger}), so that a trickle is claimed in batches rather than a few rows per query. When the outbox runs
 * dry it re-polls after pauses growing from {@code idle-poll-min} to {@code idle-poll-max}; then it sets
 * {@code broker_state.bridge_waiting_until}, so that publishers NOTIFY it, and sleeps until a {@link Wakeup} signal or
 * {@code fallback-poll}. Publishers thus pay
 * for a NOTIFY only while the bridge is asleep, i.e. at low load, where it costs nothing that matters. The request is
 * a lease ({@code wakeup-lease}) renewed while asleep and withdrawn when the stream ends: a bridge that stopped, or
 * was killed, does not leave every later publish paying for a NOTIFY nobody hears.
 *
 * <p>Delayed messages ({@code amqp.scheduled}) are moved into the outbox by {@code amqp.scheduled_release} before a
 * claim, when the next due time has come, when a publisher scheduled one (it NOTIFYs {@code amqp_scheduled}: it may
 * be due before the time known here), and at least every {@code fallback-poll} (a missed notification, or rows a
 * concurrent release skipped). Waits never outlast the next due time, so a due message is claimed within
 * milliseconds of it.
 *
 * <p>Messages of held destinations ({@link DestinationHolds}) are claimed and passed over; when a hold is lifted or
 * expires, the source lets what is in flight settle, then starts again from cursor 0, as a new materialization would,
 * so that those messages go out in their order (or are dead-lettered).
 *
 * <p>Each materialization starts from cursor 0 (the oldest pending row): restarting the stream is how failed rows are
 * retried in their original order.
 */
public final class OutboxSource {
  private static final Logger log = LoggerFactory.getLogger(OutboxSource.class);

  /** Rows emitted but not yet settled; shared by this source and the settle stage of the same stream only. */
  public static final class InFlight {
    private final AtomicInteger rows = new AtomicInteger();

    public void settled(int n) {
      rows.addAndGet(-n);
    }

    int get() {
      return rows.get();
    }

    void emitted(int n) {
      rows.addAndGet(n);
    }
  }

  private final OutboxStore store;
  private final int brokerId;
  private final int ownerPid;
  private final BridgeSettings settings;
  private final Wakeup wakeup;
  private final InFlight inFlight;
  private final DestinationHolds holds;
  // Rows moved per release: what a few claims take; a longer due backlog is moved over several steps.
  private static final int RELEASE_ROWS = 5_000;
  // After a release that found due rows it could not take (a concurrent release holds them), before trying again.
  private static final long RELEASE_RETRY_NANOS = 10_000_000L;
  // Confined to the stream: unfoldAsync runs one step at a time, each step after the previous one completed.
  private LateTransactions late = new LateTransactions();
  private boolean restartWanted; // a hold was lifted or expired: start over from cursor 0 once nothing is in flight
  private long cursor;
  private Duration pause;
  private boolean waiting;
  private boolean lingerFirst;
  private long waitingSetAt;
  // The deadline of this stream's last wake-up request; read by the termination callback, hence volatile.
  private volatile String requested;
  private long lastStrandedCheck = System.nanoTime();
  // When to release delayed messages next (System.nanoTime; due at start), and when that was last done.
  private long releaseDue = System.nanoTime();
  private long lastRelease;

  private OutboxSource(OutboxStore store, int brokerId, int ownerPid, BridgeSettings settings, Wakeup wakeup,
      InFlight inFlight, DestinationHolds holds) {
    this.store = store;
    this.holds = holds;
    this.brokerId = brokerId;
    this.ownerPid = ownerPid;
    this.settings = settings;
    this.wakeup = wakeup;
    this.inFlight = inFlight;
    this.pause = settings.idlePollMin();
  }

  /**
   * A source of batches for {@code brokerId}, claimed through the advisory-lock session {@code ownerPid}. Completes
   * never by itself; fails with {@link OutboxOwnershipLost} when the lock is gone, or with the database error.
   */
  public static Source<OutboxBatch, NotUsed> create(OutboxStore store, int brokerId, int ownerPid,
      BridgeSettings settings, Wakeup wakeup, InFlight inFlight, DestinationHolds holds) {
    return Source.lazySource(() -> {
      OutboxSource s = new OutboxSource(store, brokerId, ownerPid, settings, wakeup, inFlight, holds);
      return Source.unfoldAsync(s, OutboxSource::next).watchTermination((mat, done) -> {
        done.whenComplete((d, e) -> s.withdrawWaiting());
        return mat;
      });
    }).mapMaterializedValue(f -> NotUsed.getInstance());
  }

  /**
   * However the stream ended (stop, failure, lost lock): withdraws this stream's own request, never a successor's. A
   * request still being written at this moment, or a failed withdrawal, lapses by itself within the lease.
   */
  private void withdrawWaiting() {
    String deadline = requested;
    if (deadline == null) {
      return;
    }
    store.withdrawWaiting(brokerId, deadline).whenComplete((n, e) -> {
      if (e != null) {
        log.debug("broker {}: could not withdraw the wake-up request (it lapses within {}): {}",
            brokerId, settings.wakeupLease(), e.getMessage());
      }
    });
  }

  private CompletionStage<Optional<Pair<OutboxSource, OutboxBatch>>> next() {
    if (holds.takeResume()) {
      restartWanted = true;
    }
    if (restartWanted) {
      if (inFlight.get() > 0) {
        return wakeup.await(settings.idlePollMin()).thenCompose(x -> next());
      }
      restartWanted = false;
      cursor = 0;
      late = new LateTransactions();
      lingerFirst = false;
    }
    if (lingerFirst) {
      lingerFirst = false;
      return wakeup.await(untilReleaseAtMost(settings.linger())).thenCompose(x -> next());
    }
    return poll().thenCompose(rows -> {
      if (!rows.isEmpty()) {
        // A partial batch: more rows are trickling in; let them gather before claiming again.
        lingerFirst = rows.size() < settings.batchSize();
        pause = settings.idlePollMin();
        if (waiting) {
          waiting = false;
          String deadline = requested;
          requested = null;
          if (deadline != null) {
            store.withdrawWaiting(brokerId, deadline).whenComplete((n, e) -> {
              if (e != null) {
                log.warn("broker {}: could not withdraw its wake-up request: {}", brokerId, e.getMessage());
              }
            });
          }
        }
        inFlight.emitted(rows.size());
        return CompletableFuture.completedFuture(Optional.of(Pair.create(this, new OutboxBatch(rows))));
      }
      return idle().thenCompose(x -> next());
    });
  }

  private CompletionStage<List<OutboxRow>> poll() {
    return releaseIfDue().thenCompose(x -> claim());
  }

  private CompletionStage<Void> releaseIfDue() {
    long now = System.nanoTime();
    boolean scheduled = wakeup.takeScheduled();
    if (!scheduled && now - releaseDue < 0 && now - lastRelease < settings.fallbackPoll().toNanos()) {
      return CompletableFuture.completedFuture(null);
    }
    lastRelease = now;
    return store.release(brokerId, RELEASE_ROWS).thenApply(r -> {
      long t = System.nanoTime();
      if (r.released() >= RELEASE_ROWS) {
        releaseDue = t; // more are due: the next step moves them
      } else if (r.nextDueInSeconds() == null) {
        releaseDue = t + Long.MAX_VALUE / 4; // none scheduled: a publisher's NOTIFY or the fallback says otherwise
      } else {
        long in = (long) Math.ceil(r.nextDueInSeconds() * 1e9);
        releaseDue = t + Math.max(in, r.released() == 0 && in <= 0 ? RELEASE_RETRY_NANOS : 0);
      }
      if (r.released() > 0 && log.isDebugEnabled()) {
        log.debug("broker {}: {} delayed messages fell due", brokerId, r.released());
      }
      return null;
    });
  }

  /** {@code d}, or less when delayed messages fall due sooner. */
  private Duration untilReleaseAtMost(Duration d) {
    long left = releaseDue - System.nanoTime();
    return left < d.toNanos() ? Duration.ofNanos(Math.max(0, left)) : d;
  }

  private CompletionStage<List<OutboxRow>> claim() {
    long before = cursor;
    return store.claim(brokerId, ownerPid, cursor, settings.batchSize()).thenCompose(claim -> {
      if (!claim.owned()) {
        throw new OutboxOwnershipLost(brokerId);
      }
      List<OutboxRow> rows = claim.rows();
      if (!rows.isEmpty()) {
        cursor = rows.get(rows.size() - 1).id();
      }
      late.claimed(claim.snapshot(), before, cursor);
      LateTransactions.Sweep sweep = late.finished(claim.snapshot());
      if (sweep != null) {
        return store.sweep(brokerId, sweep).thenApply(swept -> {
          if (swept.isEmpty()) {
            return rows;
          }
          if (log.isDebugEnabled()) {
            log.debug("broker {}: {} rows committed after later rows were claimed", brokerId, swept.size());
          }
          List<OutboxRow> all = new ArrayList<>(swept.size() + rows.size());
          all.addAll(swept);
          all.addAll(rows);
          return all;
        });
      }
      if (rows.isEmpty() && inFlight.get() == 0 && dueForStrandedCheck()) {
        return store.stranded(brokerId, cursor, settings.strandedAfter(), settings.batchSize(), holds.exchanges())
            .thenApply(found -> {
              found.removeIf(r -> late.tracks(r.tx())); // those are swept once their transaction is seen finished
              if (!found.isEmpty()) {
                log.warn("broker {}: found {} stranded rows below the claim cursor; sending them now",
                    brokerId, found.size());
              }
              return found;
            });
      }
      return CompletableFuture.completedFuture(rows);
    });
  }

  private boolean dueForStrandedCheck() {
    long now = System.nanoTime();
    if (now - lastStrandedCheck < settings.fallbackPoll().toNanos()) {
      return false;
    }
    lastStrandedCheck = now;
    return true;
  }

  private CompletionStage<Void> idle() {
    if (pause.compareTo(settings.idlePollMax()) < 0) {
      Duration p = pause;
      pause = pause.multipliedBy(2);
      if (pause.compareTo(settings.idlePollMax()) > 0) {
        pause = settings.idlePollMax();
      }
      return wakeup.await(untilReleaseAtMost(p));
    }
    if (!waiting) {
      // Ask publishers to notify us, then poll once more before sleeping: a row committed before the flag was
      // visible to its publisher is found by that poll, not lost until the fallback.
      waiting = true;
      return requestWakeups();
    }
    if (System.nanoTime() - waitingSetAt >= settings.wakeupLease().toNanos() / 2) {
      return requestWakeups().thenCompose(x -> wakeup.await(untilReleaseAtMost(settings.fallbackPoll())));
    }
    return wakeup.await(untilReleaseAtMost(settings.fallbackPoll()));
  }

  private CompletionStage<Void> requestWakeups() {
    waitingSetAt = System.nanoTime();
    return store.setWaiting(brokerId, settings.wakeupLease()).thenApply(deadline -> {
      requested = deadline;
      return null;
    });
  }
}
