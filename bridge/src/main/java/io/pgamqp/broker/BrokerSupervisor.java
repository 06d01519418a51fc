package io.pgamqp.broker;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.BehaviorBuilder;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.TimerScheduler;
import io.pgamqp.broker.BrokerStatus.Phase;
import io.pgamqp.config.BridgeSettings;
import io.pgamqp.config.DatabaseSettings;
import io.pgamqp.logging.LogText;
import io.pgamqp.logging.Outage;
import io.pgamqp.metrics.BridgeMetrics;
import io.pgamqp.outbox.BrokerStateReport;
import io.pgamqp.outbox.DestinationHolds;
import io.pgamqp.outbox.OutboxOwnershipLost;
import io.pgamqp.outbox.OutboxStore;
import io.pgamqp.outbox.OwnershipLock;
import io.pgamqp.outbox.Wakeup;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.BiFunction;
import java.util.function.Supplier;

/**
 * Owns one broker: its advisory lock (so only one bridge drains it), its AMQP connection ({@link BrokerLink}), and
 * the stream outbox → publish with confirms → settle ({@link DeliveryStream}). Reconnects with exponential backoff
 * and jitter, re-applying recorded exchange declarations before publishing; honours {@code amqp.disconnect}; follows
 * edits of its {@code amqp.broker} rows. One broker's trouble never blocks another: each has its own supervisor,
 * connection and stream, and every blocking call runs on the blocking dispatcher.
 *
 * <p>One behaviour per state, so that what a message means in a state is read in one place:
 * {@link #acquiring()} the lock (standing by in {@link #backingOff} while another bridge holds it) →
 * {@link #connecting()} → {@link #running} → {@link #backingOff} → connecting | running again ..., and
 * {@link #stopping}, which lets in-flight confirms finish (bounded by {@code drain-timeout}) so a graceful stop
 * neither loses nor duplicates. A state that started a blocking step waits for its reply, also when told to stop.
 * Messages a state has no use for (replies of an earlier state, a timer that raced a change) are ignored.
 */
public final class BrokerSupervisor {
  public sealed interface Command {}

  /** The broker's rows as last read; a change of endpoints means reconnecting to the new ones. */
  public record Configure(BrokerCatalog.BrokerConfig config) implements Command {}

  /** A NOTIFY said rows arrived ({@code INSTANCE}), or delayed messages were scheduled ({@code SCHEDULED}). */
  public enum Wake implements Command { INSTANCE, SCHEDULED }

  /** {@code amqp.disconnect}: close the connection and reconnect with the current rows. */
  public enum Disconnect implements Command { INSTANCE }

  /** Stop after in-flight messages are confirmed and settled; replies when done. */
  public record Stop(ActorRef<Done> replyTo) implements Command {}

  private record LockTried(OwnershipLock lock, Throwable error) implements Command {}

  private record Connected(BrokerLink link, Throwable error) implements Command {}

  private record ChannelOpened(ConfirmingPublisher publisher, Throwable error) implements Command {}

  private record StreamEnded(DeliveryStream stream, DeliveryStream.Ended how) implements Command {}

  private record ConnectionLost(BrokerLink link, String reason) implements Command {}

  private enum Retry implements Command { INSTANCE }

  private enum CheckOwnership implements Command { INSTANCE }

  private record OwnershipChecked(OwnershipLock lock, boolean alive) implements Command {}

  private enum DrainTimeout implements Command { INSTANCE }

  /** Time to look at the held destinations: expire those held too long, check those due for it. */
  private enum CheckHolds implements Command { INSTANCE }

  /** A passive check of a held exchange: {@code error} null when it exists. */
  private record HoldChecked(String exchange, String error) implements Command {}

  /** Shared, read-only collaborators. */
  public record Deps(
      DatabaseSettings database,
      BridgeSettings settings,
      OutboxStore store,
      BrokerCatalog catalog,
      BridgeMetrics metrics) {}

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final int brokerId;
  private final Deps deps;
  private final BridgeSettings settings;
  private final BridgeMetrics metrics;
  private final ActorRef<BrokerStatus> statusListener;
  private final Executor blocking;
  private final Backoff backoff;
  private final Wakeup wakeup = new Wakeup();
  private final BrokerStateReport report;
  private final DestinationHolds holds;
  // When each held exchange is to be checked next and the pause after that check (actor thread only).
  private final Map<String, long[]> holdChecks = new HashMap<>();

  // What this broker has, across states; only the actor's thread touches these.
  private OwnershipLock lock;
  private BrokerLink link;
  private int failures;
  private long runs;
  private boolean dropUnroutable; // on_unroutable = 'drop', as last read; the running stream has its own copy
  private boolean connectedOnce;
  private boolean lostReported; // the current connection's loss was logged
  private boolean standbyLogged;
  private final Outage databaseOutage = new Outage(); // lock attempts that cannot reach the database
  // What the status listener is told.
  private Phase phase = Phase.STANDBY;
  private Instant phaseSince = Instant.now();
  private String lastError;
  private List<String> reportedHeld = List.of();

  /** {@code statusListener} is told every change of phase, ownership, connection or last error. */
  public static Behavior<Command> create(int brokerId, Deps deps, ActorRef<BrokerStatus> statusListener) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(
        timers -> new BrokerSupervisor(ctx, timers, brokerId, deps, statusListener).acquire()));
  }

  private BrokerSupervisor(ActorContext<Command> ctx, TimerScheduler<Command> timers, int brokerId, Deps deps,
      ActorRef<BrokerStatus> statusListener) {
    this.ctx = ctx;
    this.timers = timers;
    this.brokerId = brokerId;
    this.deps = deps;
    this.settings = deps.settings();
    this.metrics = deps.metrics();
    this.statusListener = statusListener;
    this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig("pgamqp-blocking-dispatcher"));
    this.backoff = new Backoff(settings.backoffMin(), settings.backoffMax(), settings.backoffJitter());
    this.report = deps.store().stateReport(brokerId);
    this.holds = new DestinationHolds(wakeup::signal, new HoldLog(brokerId, deps, settings.holdTimeout()),
        settings.holdTimeout().isZero());
  }

  /**
   * Says once when a destination is held and once when it is lifted, and records it for amqp.status. Runs on the
   * thread that changed the hold (the publisher's AMQP thread, the actor's): a logger and asynchronous writes only.
   */
  private record HoldLog(int brokerId, Deps deps, Duration holdTimeout) implements DestinationHolds.Listener {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(BrokerSupervisor.class);

    @Override
    public void held(DestinationHolds.Hold hold) {
      LOG.warn("broker {}: holding exchange '{}': {}; its messages wait in order (other destinations flow) until it"
          + " exists, {}", brokerId, LogText.value(hold.exchange()), hold.lastError(), hold.expired()
          ? "and are dead-lettered meanwhile (hold-timeout 0)"
          : "or are dead-lettered after hold-timeout " + holdTimeout.toSeconds() + " s");
      deps.store().recordHold(brokerId, hold);
      deps.metrics().heldDestination(brokerId, 1);
    }

    @Override
    public void lifted(DestinationHolds.Hold hold, String why) {
      LOG.info("broker {}: exchange '{}' no longer held ({}); sending its messages in order", brokerId,
          LogText.value(hold.exchange()), why);
      deps.store().clearHold(brokerId, hold.exchange());
      deps.metrics().heldDestination(brokerId, -1);
    }
  }

  // ---- acquiring the lock

  private Behavior<Command> acquire() {
    enter(Phase.STANDBY);
    runBlocking(() -> OwnershipLock.tryAcquire(deps.database(), brokerId), LockTried::new);
    return acquiring();
  }

  /** Waiting for the lock attempt. */
  private Behavior<Command> acquiring() {
    return receive(null)
        .onMessage(LockTried.class, this::onLockTried)
        .onMessage(Configure.class, m -> onConfigure(m, null, Behaviors::same))
        .onMessageEquals(Disconnect.INSTANCE, () -> onDisconnect(Behaviors::same))
        .onMessage(Stop.class, m -> stop(null, m.replyTo()))
        .onAnyMessage(this::ignore)
        .build();
  }

  private Behavior<Command> onLockTried(LockTried m) {
    if (m.error() != null) {
      Duration pause = nextPause();
      // Once per outage, not per retry: a restarting database would otherwise log a line every backoff step.
      if (databaseOutage.failed()) {
        ctx.getLog().warn("broker {}: cannot reach the database to take ownership; retrying (backoff up to {} ms)"
            + " until it answers: {}", brokerId, settings.backoffMax().toMillis(), ErrorText.of(m.error()));
      } else if (ctx.getLog().isDebugEnabled()) {
        ctx.getLog().debug("broker {}: database still unreachable, retrying in {} ms: {}", brokerId,
            pause.toMillis(), ErrorText.of(m.error()));
      }
      lastError = "cannot reach the database: " + ErrorText.of(m.error());
      return backOff(pause, Phase.BACKOFF);
    }
    Outage.Ended outage = databaseOutage.recovered();
    if (outage != null) {
      ctx.getLog().info("broker {}: the database answers again, after {} ms and {} failed attempt(s)", brokerId,
          outage.lasted().toMillis(), outage.failedAttempts());
    }
    if (m.lock() == null) {
      if (!standbyLogged) {
        ctx.getLog().info("broker {}: another bridge drains it; standing by to take over", brokerId);
        standbyLogged = true;
      }
      return backOff(settings.ownershipCheck(), Phase.STANDBY);
    }
    lock = m.lock();
    standbyLogged = false;
    connectedOnce = false;
    metrics.owned(brokerId, true);
    report.owned(true);
    ctx.getLog().info("broker {}: this bridge owns it now (advisory lock held by session {})", brokerId, lock.pid());
    timers.startTimerWithFixedDelay(CheckOwnership.INSTANCE, settings.ownershipCheck());
    return connect();
  }

  // ---- connecting

  private Behavior<Command> connect() {
    if (connectedOnce) {
      metrics.reconnect(brokerId);
    }
    enter(Phase.CONNECTING);
    runBlocking(() -> BrokerLink.open(brokerId, deps), Connected::new);
    return connecting();
  }

  private Behavior<Command> openChannel() {
    enter(Phase.CONNECTING);
    return openChannelQuietly();
  }

  /** A new publishing channel on the open connection, still showing the phase as it was (e.g. running). */
  private Behavior<Command> openChannelQuietly() {
    BrokerLink l = link;
    runBlocking(() -> l.openPublisher(settings.confirmTimeout(), holds), ChannelOpened::new);
    return connecting();
  }

  /** Waiting for the connection (rows read, declarations applied) or for the publishing channel. */
  private Behavior<Command> connecting() {
    return receive(null)
        .onMessage(Connected.class, this::onConnected)
        .onMessage(ChannelOpened.class, this::onChannelOpened)
        .onMessage(ConnectionLost.class, m -> onConnectionLost(m, null))
        .onMessage(OwnershipChecked.class, m -> {
          checkedOwnership(m); // if lost, the step's reply finds no lock and gives the broker up
          return Behaviors.same();
        })
        .onMessage(Configure.class, m -> onConfigure(m, null, Behaviors::same))
        .onMessageEquals(Disconnect.INSTANCE, () -> onDisconnect(Behaviors::same))
        .onMessage(Stop.class, m -> stop(null, m.replyTo()))
        .onAnyMessage(this::ignore)
        .build();
  }

  private Behavior<Command> onConnected(Connected m) {
    if (m.error() != null) {
      Duration pause = nextPause();
      ctx.getLog().warn("broker {}: cannot connect, reconnecting in {} ms because: {}",
          brokerId, pause.toMillis(), ErrorText.of(m.error()));
      failed("cannot connect: " + ErrorText.of(m.error()));
      return backOff(pause, Phase.BACKOFF);
    }
    BrokerLink l = m.link();
    link = l;
    lostReported = false;
    for (DestinationHolds.Hold h : l.heldAtConnect()) {
      if (holds.get(h.exchange()) == null) {
        holds.restore(h);
        deps.metrics().heldDestination(brokerId, 1);
      }
    }
    dropUnroutable = l.config().dropUnroutable();
    ActorRef<Command> self = ctx.getSelf();
    l.onLoss(reason -> self.tell(new ConnectionLost(l, reason)));
    ctx.getLog().info("broker {}: connected to {}", brokerId, l.endpoint());
    connectedOnce = true;
    lastError = null;
    metrics.connectionState(brokerId, true);
    report.connected(l.hostPort());
    if (lock == null) {
      return reacquire();
    }
    return openChannel();
  }

  private Behavior<Command> onChannelOpened(ChannelOpened m) {
    if (m.error() != null) {
      return afterFailure("cannot open a channel: " + ErrorText.of(m.error()));
    }
    if (lock == null) {
      BrokerLink.closeOff(blocking, m.publisher()::close);
      return reacquire();
    }
    return run(m.publisher());
  }

  // ---- running

  private Behavior<Command> run(ConfirmingPublisher publisher) {
    DeliveryStream s = DeliveryStream.start(brokerId, ++runs, deps, lock.pid(), wakeup, publisher, holds,
        dropUnroutable, ctx.getSystem());
    ctx.pipeToSelf(s.ended(), (how, error) -> new StreamEnded(s, how));
    enter(Phase.RUNNING);
    timers.startTimerWithFixedDelay(CheckHolds.INSTANCE, HOLD_TICK);
    return running(s, false);
  }

  /** The stream {@code s} delivers; {@code reconnecting}: it is finishing so that the broker reconnects. */
  private Behavior<Command> running(DeliveryStream s, boolean reconnecting) {
    return receive(s)
        .onMessage(StreamEnded.class, m -> m.stream() == s, m -> afterRun(s, m.how(), reconnecting))
        .onMessage(ConnectionLost.class, m -> onConnectionLost(m, s))
        .onMessageEquals(CheckOwnership.INSTANCE, this::checkOwnership)
        .onMessage(OwnershipChecked.class, m -> {
          if (checkedOwnership(m)) {
            s.abort(new OutboxOwnershipLost(brokerId));
          }
          return Behaviors.same();
        })
        .onMessage(Configure.class, m -> onConfigure(m, s, () -> finishToReconnect(s, reconnecting)))
        .onMessageEquals(Disconnect.INSTANCE, () -> onDisconnect(() -> finishToReconnect(s, reconnecting)))
        .onMessageEquals(DrainTimeout.INSTANCE, () -> abortDrain(s))
        .onMessageEquals(CheckHolds.INSTANCE, this::checkHolds)
        .onMessage(HoldChecked.class, this::onHoldChecked)
        .onMessage(Stop.class, m -> stop(s, m.replyTo()))
        .onAnyMessage(this::ignore)
        .build();
  }

  // ---- held destinations

  private static final Duration HOLD_TICK = Duration.ofMillis(250);
  private static final long CHECKING = Long.MAX_VALUE; // a check of this exchange is under way

  /** Expires holds older than hold-timeout; checks each held exchange on its own schedule (passive declare). */
  private Behavior<Command> checkHolds() {
    if (!reportedHeld.equals(List.of(holds.exchanges()))) {
      reportStatus(); // holds are made and lifted on other threads too: tell readiness what is held now
    }
    if (holds.isEmpty()) {
      holdChecks.clear();
      return Behaviors.same();
    }
    long now = System.nanoTime();
    Instant expiry = Instant.now().minus(settings.holdTimeout());
    holdChecks.keySet().retainAll(java.util.Set.of(holds.exchanges()));
    for (DestinationHolds.Hold h : holds.all()) {
      if (!h.expired() && h.since().isBefore(expiry)) {
        ctx.getLog().warn("broker {}: exchange '{}' held for longer than hold-timeout ({} s); dead-lettering its"
            + " messages until it exists", brokerId, LogText.value(h.exchange()), settings.holdTimeout().toSeconds());
        holds.expire(h.exchange());
        DestinationHolds.Hold expired = holds.get(h.exchange());
        if (expired != null) {
          deps.store().recordHold(brokerId, expired);
        }
      }
      long[] check = holdChecks.computeIfAbsent(h.exchange(), k -> new long[] {now, settings.backoffMin().toNanos()});
      BrokerLink l = link;
      if (check[0] != CHECKING && now - check[0] >= 0 && l != null && l.isOpen()) {
        check[0] = CHECKING;
        String exchange = h.exchange();
        runBlocking(() -> l.checkExchange(exchange), (error, failure) -> new HoldChecked(exchange,
            failure != null ? ErrorText.of(failure) : error));
      }
    }
    return Behaviors.same();
  }

  private Behavior<Command> onHoldChecked(HoldChecked m) {
    long[] check = holdChecks.get(m.exchange());
    if (m.error() == null) {
      holdChecks.remove(m.exchange());
      holds.lift(m.exchange(), "it exists now");
    } else if (check != null) {
      check[1] = Math.min(check[1] * 2, settings.backoffMax().toNanos());
      check[0] = System.nanoTime() + check[1];
    }
    return Behaviors.same();
  }

  private Behavior<Command> finishToReconnect(DeliveryStream s, boolean reconnecting) {
    if (reconnecting) {
      return Behaviors.same();
    }
    s.finish(); // let in-flight confirms finish, then reconnect
    timers.startSingleTimer(DrainTimeout.INSTANCE, settings.drainTimeout());
    return running(s, true);
  }

  private Behavior<Command> afterRun(DeliveryStream s, DeliveryStream.Ended how, boolean reconnecting) {
    timers.cancel(DrainTimeout.INSTANCE);
    s.closePublisher(blocking);
    if (how.error() instanceof OutboxOwnershipLost || lock == null) {
      ctx.getLog().warn("broker {}: no longer the owner; standing by", brokerId);
      return reacquire();
    }
    if (how.error() != null) {
      // A stream fails mostly because the database did (a restart ends every session, the lock session's too): ask
      // now rather than at the next ownership-check, so that this bridge stops calling itself the owner (gauge,
      // status) before a standby can take over.
      checkOwnership();
    }
    if (s.ranLongerThan(settings.backoffMax())) {
      failures = 0;
    }
    if (reconnecting) {
      failures = 0;
      closeLink();
      return connect();
    }
    if (how.error() != null) {
      return afterFailure("stream failed: " + ErrorText.of(how.error()));
    }
    if (how.retryNeeded() && (s.heldADestination() || s.refusalAttributed())) {
      // The channel closed because of a destination now held, or of one message now set aside for its own retry (or
      // dead-lettered): the rows the closure took along are resent at once, in order; nobody waits for its backoff.
      ctx.getLog().info("broker {}: resending in order the messages a refusal took along", brokerId);
      if (link != null && link.isOpen()) {
        return openChannelQuietly(); // the broker is fine and its other messages flow: still running, still ready
      }
      return retry();
    }
    if (how.retryNeeded()) {
      Duration pause = nextPause();
      ctx.getLog().info("broker {}: resending unconfirmed messages in order in {} ms", brokerId, pause.toMillis());
      return backOff(pause, Phase.BACKOFF);
    }
    return afterFailure("stream completed unexpectedly");
  }

  // ---- backing off (or standing by)

  private Behavior<Command> afterFailure(String why) {
    Duration pause = nextPause();
    boolean connectionOk = link != null && link.isOpen();
    ctx.getLog().warn("broker {}: {}; {} in {} ms", brokerId, why, connectionOk ? "restarting" : "reconnecting",
        pause.toMillis());
    failed(why);
    if (!connectionOk) {
      closeLink();
    }
    return backOff(pause, Phase.BACKOFF);
  }

  /** Gives the broker up for now (the lock is gone or lost): stand by, then try the lock again. */
  private Behavior<Command> reacquire() {
    timers.cancel(CheckOwnership.INSTANCE);
    closeLink();
    if (lock != null) {
      report.owned(false);
      lock.close();
      lock = null;
    }
    metrics.owned(brokerId, false);
    return backOff(settings.ownershipCheck(), Phase.BACKOFF);
  }

  private Duration nextPause() {
    return backoff.next(++failures);
  }

  /** The one place that schedules the next attempt. */
  private Behavior<Command> backOff(Duration pause, Phase shown) {
    timers.startSingleTimer(Retry.INSTANCE, pause);
    enter(shown);
    return backingOff(shown);
  }

  /** Waiting for {@link Retry}; {@code shown} is {@link Phase#STANDBY} while another bridge holds the lock. */
  private Behavior<Command> backingOff(Phase shown) {
    Supplier<Behavior<Command>> reconnect = () -> shown == Phase.BACKOFF ? retryNow() : Behaviors.same();
    return receive(null)
        .onMessageEquals(Retry.INSTANCE, this::retry)
        .onMessage(ConnectionLost.class, m -> onConnectionLost(m, null))
        .onMessageEquals(CheckOwnership.INSTANCE, this::checkOwnership)
        .onMessage(OwnershipChecked.class, m -> {
          if (checkedOwnership(m)) {
            closeLink();
            return backOff(nextPause(), Phase.BACKOFF);
          }
          return Behaviors.same();
        })
        .onMessage(Configure.class, m -> onConfigure(m, null, reconnect))
        .onMessageEquals(Disconnect.INSTANCE, () -> onDisconnect(reconnect))
        .onMessage(Stop.class, m -> stopNow(m.replyTo()))
        .onAnyMessage(this::ignore)
        .build();
  }

  private Behavior<Command> retryNow() {
    timers.cancel(Retry.INSTANCE);
    failures = 0;
    return retry();
  }

  private Behavior<Command> retry() {
    if (lock == null) {
      return acquire();
    }
    if (link == null || !link.isOpen()) {
      if (link != null) {
        // The stream's retry may have won the race against the ConnectionLost message: say why we reconnect.
        reportLostConnection(link.closeReason());
      }
      closeLink();
      return connect();
    }
    return openChannel();
  }

  // ---- stopping

  /**
   * Stops once {@code s} (when running) has settled what is in flight, within drain-timeout, or (null) once the
   * blocking step under way has replied.
   */
  private Behavior<Command> stop(DeliveryStream s, ActorRef<Done> replyTo) {
    beginStop();
    if (s != null) {
      s.finish();
      timers.startSingleTimer(DrainTimeout.INSTANCE, settings.drainTimeout());
    }
    return stopping(s, List.of(replyTo));
  }

  /** Stops at once: nothing is under way. */
  private Behavior<Command> stopNow(ActorRef<Done> replyTo) {
    beginStop();
    return finishStop(List.of(replyTo));
  }

  private void beginStop() {
    enter(Phase.STOPPING);
    timers.cancel(Retry.INSTANCE);
    timers.cancel(CheckOwnership.INSTANCE);
  }

  /**
   * Waiting for the stream {@code s} to settle what is in flight, or (null) for the reply of the blocking step under
   * way, whose lock, connection or channel is then released. {@code replyTo}: who is told when stopped.
   */
  private Behavior<Command> stopping(DeliveryStream s, List<ActorRef<Done>> replyTo) {
    return receive(s)
        .onMessage(LockTried.class, m -> {
          if (m.lock() != null) {
            m.lock().close();
          }
          return finishStop(replyTo);
        })
        .onMessage(Connected.class, m -> {
          if (m.link() != null) {
            m.link().closeNow();
          }
          return finishStop(replyTo);
        })
        .onMessage(ChannelOpened.class, m -> {
          if (m.publisher() != null) {
            m.publisher().close();
          }
          return finishStop(replyTo);
        })
        .onMessage(StreamEnded.class, m -> m.stream() == s, m -> {
          timers.cancel(DrainTimeout.INSTANCE);
          s.closePublisherNow();
          return finishStop(replyTo);
        })
        .onMessageEquals(DrainTimeout.INSTANCE, () -> abortDrain(s))
        .onMessage(ConnectionLost.class, m -> onConnectionLost(m, s))
        .onMessage(OwnershipChecked.class, m -> {
          if (checkedOwnership(m) && s != null) {
            s.abort(new OutboxOwnershipLost(brokerId));
          }
          return Behaviors.same();
        })
        .onMessage(Stop.class, m -> {
          List<ActorRef<Done>> all = new ArrayList<>(replyTo);
          all.add(m.replyTo());
          return stopping(s, List.copyOf(all));
        })
        .onAnyMessage(this::ignore)
        .build();
  }

  private Behavior<Command> abortDrain(DeliveryStream s) {
    if (s != null) {
      ctx.getLog().warn("broker {}: in-flight confirms did not finish within {} ms; abandoning them"
          + " (they stay in the outbox and are sent again)", brokerId, settings.drainTimeout().toMillis());
      s.abort(new IllegalStateException("drain timeout"));
    }
    return Behaviors.same();
  }

  private Behavior<Command> finishStop(List<ActorRef<Done>> replyTo) {
    if (lock != null) {
      report.owned(false);
    }
    releaseAll();
    metrics.owned(brokerId, false);
    metrics.connectionState(brokerId, false);
    replyTo.forEach(r -> r.tell(Done.getInstance()));
    ctx.getLog().info("broker {}: stopped", brokerId);
    return Behaviors.stopped();
  }

  // ---- what every state shares

  /** A state's handlers start here; {@code s}, the stream it runs if any, is aborted should the actor stop. */
  private BehaviorBuilder<Command> receive(DeliveryStream s) {
    return Behaviors.receive(Command.class)
        .onMessageEquals(Wake.INSTANCE, () -> {
          wakeup.signal();
          return Behaviors.same();
        })
        .onMessageEquals(Wake.SCHEDULED, () -> {
          wakeup.signalScheduled();
          return Behaviors.same();
        })
        .onSignal(PostStop.class, signal -> {
          if (s != null) {
            s.abort(new IllegalStateException("supervisor stopped"));
            s.closePublisherNow();
          }
          releaseAll();
          return Behaviors.same();
        });
  }

  /** A reply of an earlier state or a timer that raced a change: nothing to do in this state. */
  private Behavior<Command> ignore(Command m) {
    ctx.getLog().debug("broker {}: {} has no meaning while {}", brokerId, m, phase.text());
    return Behaviors.same();
  }

  /** Follows an edit of the rows: new endpoints mean {@code reconnect}; on_unroutable applies to {@code s} at once. */
  private Behavior<Command> onConfigure(Configure m, DeliveryStream s, Supplier<Behavior<Command>> reconnect) {
    if (link == null) {
      return Behaviors.same();
    }
    if (!link.config().endpoints().equals(m.config().endpoints())) {
      ctx.getLog().info("broker {}: its amqp.broker rows changed; reconnecting", brokerId);
      return reconnect.get();
    }
    boolean drop = m.config().dropUnroutable();
    if (drop != dropUnroutable) {
      dropUnroutable = drop;
      if (s != null) {
        s.dropUnroutable(drop);
      }
      ctx.getLog().info("broker {}: on_unroutable is now '{}'", brokerId, drop ? "drop" : "dead_letter");
    }
    return Behaviors.same();
  }

  private Behavior<Command> onDisconnect(Supplier<Behavior<Command>> reconnect) {
    ctx.getLog().info("broker {}: amqp.disconnect requested; reconnecting with the current amqp.broker rows",
        brokerId);
    return reconnect.get();
  }

  private Behavior<Command> checkOwnership() {
    OwnershipLock l = lock;
    if (l != null) {
      ctx.pipeToSelf(CompletableFuture.supplyAsync(l::isAlive, blocking),
          (alive, error) -> new OwnershipChecked(l, alive == null || alive));
    }
    return Behaviors.same();
  }

  /** Returns true when {@code m} says the lock held now is lost; then gives it up and says so. */
  private boolean checkedOwnership(OwnershipChecked m) {
    if (m.alive() || m.lock() != lock) {
      return false;
    }
    ctx.getLog().error("broker {}: lost the database session holding its lock; stopped draining", brokerId);
    timers.cancel(CheckOwnership.INSTANCE);
    lock.close();
    lock = null;
    metrics.owned(brokerId, false);
    lastError = "lost the database session holding the broker's lock";
    reportStatus();
    return true;
  }

  /** The current connection (not an earlier one) was lost: say so, and end {@code s}, the stream on it, if any. */
  private Behavior<Command> onConnectionLost(ConnectionLost m, DeliveryStream s) {
    if (m.link() == link) {
      reportLostConnection(m.reason());
      if (s != null) {
        s.abort(new IllegalStateException("connection lost: " + m.reason()));
      }
    }
    return Behaviors.same();
  }

  /** Logs and records the loss of the current connection, once per connection. */
  private void reportLostConnection(String reason) {
    if (lostReported) {
      return;
    }
    lostReported = true;
    ctx.getLog().warn("broker {}: lost connection to {}: {}", brokerId, link.endpoint(), reason);
    failed("lost connection to " + link.endpoint() + ": " + reason);
    metrics.connectionState(brokerId, false);
  }

  private void enter(Phase next) {
    if (next != phase) {
      phase = next;
      phaseSince = Instant.now();
    }
    reportStatus();
  }

  private void failed(String why) {
    lastError = why;
    if (lock != null) {
      report.failed(why);
    }
    reportStatus();
  }

  private void reportStatus() {
    reportedHeld = List.of(holds.exchanges());
    statusListener.tell(new BrokerStatus(brokerId, phase, lock != null, link == null ? null : link.hostPort(),
        lastError, phaseSince, reportedHeld));
  }

  private void closeLink() {
    if (link == null) {
      return;
    }
    if (phase == Phase.STOPPING) {
      link.closeNow();
    } else {
      link.close(blocking);
    }
    link = null;
    metrics.connectionState(brokerId, false);
    if (lock != null) {
      report.connected(null);
    }
  }

  private void releaseAll() {
    closeLink();
    if (lock != null) {
      lock.close();
      lock = null;
    }
  }

  @FunctionalInterface
  private interface BlockingStep<T> {
    T run() throws Exception;
  }

  /** Runs {@code step} on the blocking dispatcher; its result or failure comes back as the message {@code reply}. */
  private <T> void runBlocking(BlockingStep<T> step, BiFunction<T, Throwable, Command> reply) {
    CompletableFuture<T> result = CompletableFuture.supplyAsync(() -> {
      try {
        return step.run();
      } catch (Exception e) {
        throw new CompletionException(e);
      }
    }, blocking);
    ctx.pipeToSelf(result, (value, error) -> reply.apply(value, error == null ? null : ErrorText.unwrap(error)));
  }
}
