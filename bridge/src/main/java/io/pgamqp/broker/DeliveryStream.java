package io.pgamqp.broker;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.stream.KillSwitches;
import akka.stream.SharedKillSwitch;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Sink;
import io.pgamqp.config.BridgeSettings;
import io.pgamqp.metrics.BridgeMetrics;
import io.pgamqp.outbox.DestinationHolds;
import io.pgamqp.outbox.ExchangeDeclaration;
import io.pgamqp.outbox.OutboxBatch;
import io.pgamqp.outbox.OutboxRow;
import io.pgamqp.outbox.OutboxSource;
import io.pgamqp.outbox.OutboxStore;
import io.pgamqp.outbox.Settlement;
import io.pgamqp.outbox.TopologyDeclaration;
import io.pgamqp.outbox.Wakeup;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * One run of a broker's delivery stream: outbox rows (claimed under the broker's lock) → their exchange, queue
 * and binding declarations looked up → published with confirms on one channel → settled in the outbox. It ends
 * when a batch needs a retry (after what is in flight has settled, so that the next run resends in order), when it
 * is finished or aborted, or when a stage fails.
 *
 * <p>Threading: created, finished and aborted by the broker's supervisor; the stages run on the stream's threads.
 */
final class DeliveryStream {

  /** How a run ended: {@code retryNeeded} when some row was not confirmed; {@code error} when a stage failed. */
  record Ended(boolean retryNeeded, Throwable error) {}

  private final ConfirmingPublisher publisher;
  private final DestinationHolds holds;
  private final long holdsAtStart;
  // A refused message's own retry pause (its attempts so far), as the reconnect backoff's steps.
  private final Backoff retryBackoff;
  // Set by the settle stage when a refusal was put on one message (set aside for its own retry, or dead-lettered);
  // read by the supervisor once the run has ended.
  private volatile boolean attributed;
  private final SharedKillSwitch killSwitch;
  private final long startedNanos = System.nanoTime();
  private final CompletionStage<Ended> ended;
  // on_unroutable = 'drop', as the supervisor last read it: written by the supervisor, read by the settle stage, so
  // that an edit takes effect at the next refresh of the rows instead of after a reconnect.
  private volatile boolean dropUnroutable;

  private record Declared(OutboxBatch batch, Map<String, ExchangeDeclaration> declarations,
      Map<Long, TopologyDeclaration> topology) {}

  private DeliveryStream(int brokerId, String name, BrokerSupervisor.Deps deps, int ownerPid, Wakeup wakeup,
      ConfirmingPublisher publisher, DestinationHolds holds, boolean dropUnroutable, ActorSystem<?> system) {
    this.publisher = publisher;
    this.holds = holds;
    this.holdsAtStart = holds.created();
    this.retryBackoff = new Backoff(deps.settings().backoffMin(), deps.settings().backoffMax(),
        deps.settings().backoffJitter());
    this.dropUnroutable = dropUnroutable;
    this.killSwitch = KillSwitches.shared(name);
    BridgeSettings settings = deps.settings();
    BridgeMetrics metrics = deps.metrics();
    OutboxStore store = deps.store();
    OutboxSource.InFlight inFlight = new OutboxSource.InFlight();
    // basicPublish may block on the socket: this stage runs on the AMQP dispatcher, in an island of its own (a
    // dispatcher attribute only takes effect at an async boundary) whose input buffer of one batch keeps the number
    // of claimed-but-unsettled rows close to batches-in-flight x batch-size.
    Flow<Declared, ConfirmingPublisher.Published, NotUsed> publish = Flow.<Declared>create()
        .mapAsync(settings.batchesInFlight(), b -> {
          long t0 = System.nanoTime();
          return publisher.publish(b.batch(), b.declarations(), b.topology()).thenApply(p -> {
            metrics.confirmLatency(brokerId, System.nanoTime() - t0);
            return p;
          });
        })
        .async("pgamqp-amqp-dispatcher", 1);
    this.ended = OutboxSource.create(store, brokerId, ownerPid, settings, wakeup, inFlight, holds)
        .via(killSwitch.flow())
        .mapAsync(1, batch -> withDeclarations(deps.catalog(), brokerId, batch))
        .via(publish)
        .mapAsync(1, p -> {
          Settlement s = Settlements.from(brokerId, p, settings.maxAttempts(), this.dropUnroutable,
              attempts -> retryBackoff.next(attempts).toMillis());
          if (!s.deferred().isEmpty() || java.util.Arrays.asList(p.outcomes())
              .contains(ConfirmingPublisher.Outcome.FAILED)) {
            attributed = true;
          }
          BatchMetrics.record(metrics, brokerId, p, s);
          return store.settle(brokerId, s).thenApply(x -> {
            inFlight.settled(p.batch().size());
            if (s.retryNeeded()) {
              killSwitch.shutdown(); // stop claiming; what is in flight settles, then the stream restarts in order
            }
            return s.retryNeeded();
          });
        })
        .runWith(Sink.fold(false, (acc, r) -> acc || r), system)
        .handle((retry, error) -> new Ended(retry != null && retry, error == null ? null : ErrorText.unwrap(error)));
  }

  /** Starts a run publishing on {@code publisher}; the caller closes it once the run has ended. */
  static DeliveryStream start(int brokerId, long generation, BrokerSupervisor.Deps deps, int ownerPid, Wakeup wakeup,
      ConfirmingPublisher publisher, DestinationHolds holds, boolean dropUnroutable, ActorSystem<?> system) {
    return new DeliveryStream(brokerId, "broker-" + brokerId + "-" + generation, deps, ownerPid, wakeup, publisher,
        holds, dropUnroutable, system);
  }

  /**
   * True when this run held a destination: the channel closed because of it, which is explained and dealt with, so
   * the rows that closure took along may be resent at once, without backing off.
   */
  boolean heldADestination() {
    return holds.created() > holdsAtStart;
  }

  /**
   * True when a refusal in this run was put on one message (set aside for its own retry, or dead-lettered): what the
   * refusal took along may go again at once.
   */
  boolean refusalAttributed() {
    return attributed;
  }

  /** Completes (never fails) when the run has ended. */
  CompletionStage<Ended> ended() {
    return ended;
  }

  void dropUnroutable(boolean drop) {
    dropUnroutable = drop;
  }

  /** Stops claiming; what is in flight is confirmed and settled first. */
  void finish() {
    killSwitch.shutdown();
  }

  /** Ends the run now: whatever is in flight stays in the outbox and is sent again. */
  void abort(Throwable why) {
    killSwitch.abort(why);
  }

  /** True when this run lasted longer than {@code d}. */
  boolean ranLongerThan(Duration d) {
    return System.nanoTime() - startedNanos > d.toNanos();
  }

  /**
   * Closes the publisher's channel. That waits for the broker's close-ok, which a black-holed link never sends (the
   * wait ends only when heartbeats kill the connection, and then throws): off the actor's thread, on {@code blocking}.
   */
  void closePublisher(Executor blocking) {
    BrokerLink.closeOff(blocking, publisher::close);
  }

  /** Closes the publisher's channel on the calling thread (stopping: nothing else is waiting). */
  void closePublisherNow() {
    publisher.close();
  }

  private static CompletionStage<Declared> withDeclarations(BrokerCatalog catalog, int brokerId, OutboxBatch batch) {
    Set<String> names = null;
    Set<Long> ids = null;
    for (OutboxRow r : batch.rows()) {
      if (r.isTopology()) {
        if (ids == null) {
          ids = new TreeSet<>();
        }
        ids.add(r.topologyId());
      } else if (r.isDeclaration()) {
        if (names == null) {
          names = new TreeSet<>();
        }
        names.add(r.exchange());
      }
    }
    if (names == null && ids == null) {
      return CompletableFuture.completedFuture(new Declared(batch, Map.of(), Map.of()));
    }
    CompletionStage<Map<String, ExchangeDeclaration>> exchanges =
        names == null ? CompletableFuture.completedFuture(Map.of()) : catalog.declarations(brokerId, names);
    CompletionStage<Map<Long, TopologyDeclaration>> topology =
        ids == null ? CompletableFuture.completedFuture(Map.of()) : catalog.topology(brokerId, ids);
    return exchanges.thenCombine(topology, (d, t) -> new Declared(batch, d, t));
  }
}
