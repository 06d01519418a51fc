package io.pgamqp.broker;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.stream.KillSwitches;
import akka.stream.SharedKillSwitch;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Sink;
import com.rabbitmq.client.Connection;
import io.pgamqp.config.BridgeSettings;
import io.pgamqp.config.DatabaseSettings;
import io.pgamqp.outbox.ExchangeDeclaration;
import io.pgamqp.outbox.OutboxBatch;
import io.pgamqp.outbox.OutboxOwnershipLost;
import io.pgamqp.outbox.OutboxRow;
import io.pgamqp.outbox.OutboxSource;
import io.pgamqp.outbox.OutboxStore;
import io.pgamqp.outbox.Settlement;
import io.pgamqp.outbox.Wakeup;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns one broker: its advisory lock (so only one bridge drains it), its AMQP connection, and the stream
 * outbox → publish with confirms → settle. Reconnects with exponential backoff and jitter, re-applying recorded
 * exchange declarations before publishing; honours {@code amqp.disconnect}; follows edits of its {@code amqp.broker}
 * rows. One broker's trouble never blocks another: each has its own supervisor, connection and stream, and every
 * blocking call runs on the blocking dispatcher.
 *
 * <p>Phases: acquiring the lock (or standing by while another bridge holds it) → connecting → running → (backoff →
 * connecting | restarting the stream) ..., and stopping, which lets in-flight confirms finish (bounded by
 * {@code drain-timeout}) so a graceful stop neither loses nor duplicates.
 */
public final class BrokerSupervisor extends AbstractBehavior<BrokerSupervisor.Command> {
  // For blocking steps, which run off the actor's thread and so must not touch its context.
  private static final Logger log = LoggerFactory.getLogger(BrokerSupervisor.class);
  /** This process, as amqp.status shows the owner of a broker. */
  static final String OWNER = hostName() + ":" + ProcessHandle.current().pid();

  public sealed interface Command {}

  /** The broker's rows as last read; a change of endpoints means reconnecting to the new ones. */
  public record Configure(BrokerCatalog.BrokerConfig config) implements Command {}

  /** A NOTIFY said rows arrived. */
  public enum Wake implements Command { INSTANCE }

  /** {@code amqp.disconnect}: close the connection and reconnect with the current rows. */
  public enum Disconnect implements Command { INSTANCE }

  /** Stop after in-flight messages are confirmed and settled; replies when done. */
  public record Stop(ActorRef<Done> replyTo) implements Command {}

  private record LockTried(OwnershipLock lock, Throwable error) implements Command {}

  private record Connected(Link link, Throwable error) implements Command {}

  private record ChannelOpened(ConfirmingPublisher publisher, Throwable error) implements Command {}

  private record StreamEnded(long generation, boolean retryNeeded, Throwable error) implements Command {}

  private record ConnectionLost(Connection connection, String reason) implements Command {}

  private enum Retry implements Command { INSTANCE }

  private enum CheckOwnership implements Command { INSTANCE }

  private record OwnershipChecked(boolean alive) implements Command {}

  private enum DrainTimeout implements Command { INSTANCE }

  /** Shared, read-only collaborators. */
  public record Deps(
      DatabaseSettings database,
      BridgeSettings settings,
      OutboxStore store,
      BrokerCatalog catalog,
      io.pgamqp.metrics.BridgeMetrics metrics) {}

  /** A live connection and what it was made from. */
  private record Link(BrokerCatalog.BrokerConfig config, AmqpConnector.Opened opened) {}

  private enum Phase { ACQUIRING, STANDBY, CONNECTING, RUNNING, BACKOFF, STOPPING }

  private final int brokerId;
  private final Deps deps;
  private final BridgeSettings settings;
  private final TimerScheduler<Command> timers;
  private final Executor blocking;
  private final Backoff backoff;
  private final Wakeup wakeup = new Wakeup();
  // amqp.broker_state.on_unroutable = 'drop', as last read: written here, read by the running stream's settle stage,
  // so an edit takes effect at the next refresh of the rows instead of only after a reconnect.
  private final AtomicBoolean dropUnroutable = new AtomicBoolean();

  private Phase phase = Phase.ACQUIRING;
  private OwnershipLock lock;
  private Link link;
  private ConfirmingPublisher publisher;
  private ConfirmingPublisher.FlowControl flow = new ConfirmingPublisher.FlowControl();
  private SharedKillSwitch killSwitch;
  private long generation;
  private long streamStartedNanos;
  private int failures;
  private boolean busy; // a blocking step is under way; its reply must be handled before stopping
  private boolean reconnectRequested;
  private boolean standbyLogged;
  private ActorRef<Done> stopReplyTo;
  private final ActorRef<BrokerStatus> statusListener;
  private final io.pgamqp.metrics.BridgeMetrics metrics;
  private String lastError;
  private java.time.Instant phaseSince = java.time.Instant.now();
  private boolean connectedOnce;
  private boolean lostReported; // the current connection's loss was logged

  /** {@code statusListener} is told every change of phase, ownership, connection or last error. */
  public static Behavior<Command> create(int brokerId, Deps deps, ActorRef<BrokerStatus> statusListener) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(
        timers -> new BrokerSupervisor(ctx, timers, brokerId, deps, statusListener)));
  }

  private BrokerSupervisor(ActorContext<Command> ctx, TimerScheduler<Command> timers, int brokerId, Deps deps,
      ActorRef<BrokerStatus> statusListener) {
    super(ctx);
    this.brokerId = brokerId;
    this.deps = deps;
    this.statusListener = statusListener;
    this.metrics = deps.metrics();
    this.settings = deps.settings();
    this.timers = timers;
    this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig("pgamqp-blocking-dispatcher"));
    this.backoff = new Backoff(settings.backoffMin(), settings.backoffMax(), settings.backoffJitter());
    acquire();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(LockTried.class, this::onLockTried)
        .onMessage(Connected.class, this::onConnected)
        .onMessage(ChannelOpened.class, this::onChannelOpened)
        .onMessage(StreamEnded.class, this::onStreamEnded)
        .onMessage(ConnectionLost.class, this::onConnectionLost)
        .onMessageEquals(Retry.INSTANCE, this::onRetry)
        .onMessageEquals(CheckOwnership.INSTANCE, this::onCheckOwnership)
        .onMessage(OwnershipChecked.class, this::onOwnershipChecked)
        .onMessageEquals(DrainTimeout.INSTANCE, this::onDrainTimeout)
        .onMessage(Configure.class, this::onConfigure)
        .onMessageEquals(Wake.INSTANCE, () -> {
          wakeup.signal();
          return this;
        })
        .onMessageEquals(Disconnect.INSTANCE, this::onDisconnect)
        .onMessage(Stop.class, this::onStop)
        .onSignal(PostStop.class, s -> {
          releaseAll();
          return this;
        })
        .build();
  }

  // ---- ownership

  private void acquire() {
    enter(Phase.ACQUIRING);
    runBlocking(() -> OwnershipLock.tryAcquire(deps.database(), brokerId), LockTried::new);
  }

  private Behavior<Command> onLockTried(LockTried m) {
    busy = false;
    if (stopReplyTo != null) {
      if (m.lock() != null) {
        m.lock().close();
      }
      return finishStop();
    }
    if (m.error() != null) {
      failures++;
      Duration pause = backoff.next(failures);
      getContext().getLog().warn("broker {}: cannot reach the database to take ownership, retrying in {} ms: {}",
          brokerId, pause.toMillis(), message(m.error()));
      lastError = "cannot reach the database: " + message(m.error());
      enter(Phase.BACKOFF);
      timers.startSingleTimer(Retry.INSTANCE, pause);
      return this;
    }
    if (m.lock() == null) {
      if (!standbyLogged) {
        getContext().getLog().info("broker {}: another bridge drains it; standing by to take over", brokerId);
        standbyLogged = true;
      }
      enter(Phase.STANDBY);
      timers.startSingleTimer(Retry.INSTANCE, settings.ownershipCheck());
      return this;
    }
    lock = m.lock();
    standbyLogged = false;
    connectedOnce = false;
    metrics.owned(brokerId, true);
    deps.store().recordOwnership(brokerId, OWNER, true);
    getContext().getLog().info("broker {}: this bridge owns it now (advisory lock held by session {})",
        brokerId, lock.pid());
    timers.startTimerWithFixedDelay(CheckOwnership.INSTANCE, settings.ownershipCheck());
    connect();
    return this;
  }

  private Behavior<Command> onCheckOwnership() {
    if (lock == null || busy) {
      return this;
    }
    OwnershipLock l = lock;
    ActorRef<Command> self = getContext().getSelf();
    CompletableFuture.supplyAsync(l::isAlive, blocking).thenAccept(alive -> self.tell(new OwnershipChecked(alive)));
    return this;
  }

  private Behavior<Command> onOwnershipChecked(OwnershipChecked m) {
    if (m.alive() || lock == null) {
      return this;
    }
    getContext().getLog().error("broker {}: lost the database session holding its lock; stopped draining", brokerId);
    timers.cancel(CheckOwnership.INSTANCE);
    lock.close();
    lock = null;
    metrics.owned(brokerId, false);
    lastError = "lost the database session holding the broker's lock";
    reportStatus();
    if (killSwitch != null) {
      killSwitch.abort(new OutboxOwnershipLost(brokerId));
    } else if (!busy && phase != Phase.STOPPING) {
      closeLink();
      enter(Phase.BACKOFF);
      timers.startSingleTimer(Retry.INSTANCE, backoff.next(++failures));
    }
    return this;
  }

  // ---- connection

  private void connect() {
    if (connectedOnce) {
      metrics.reconnect(brokerId);
    }
    enter(Phase.CONNECTING);
    runBlocking(this::openLink, Connected::new);
  }

  /** Blocking: fresh rows, a connection, declarations applied, the wake-up request withdrawn. */
  private Link openLink() throws Exception {
    BrokerCatalog.BrokerConfig config = deps.catalog().brokers().toCompletableFuture().join().get(brokerId);
    if (config == null) {
      throw new IllegalStateException("broker " + brokerId + " has no rows in amqp.broker");
    }
    AmqpConnector.Opened opened = AmqpConnector.connect(config.endpoints(), settings);
    try {
      Map<String, ExchangeDeclaration> all = deps.catalog().declarations(brokerId, null).toCompletableFuture().join();
      List<Settlement.Declaration> outcomes = new ArrayList<>();
      for (ExchangeDeclaration d : all.values()) {
        String error = ExchangeDeclarer.declare(opened.connection(), d);
        outcomes.add(new Settlement.Declaration(d.exchange(), error));
        if (error != null) {
          log.warn("broker {}: declaring exchange '{}' failed: {}", brokerId, d.exchange(), error);
        }
      }
      if (!outcomes.isEmpty()) {
        deps.store().settle(brokerId, new Settlement(List.of(), List.of(), List.of(), outcomes, false))
            .toCompletableFuture().join();
      }
      deps.store().clearWaiting(brokerId).toCompletableFuture().join();
      return new Link(config, opened);
    } catch (Exception | Error e) {
      closeQuietly(opened.connection());
      throw e;
    }
  }

  private Behavior<Command> onConnected(Connected m) {
    busy = false;
    if (m.error() != null) {
      if (stopReplyTo != null) {
        return finishStop();
      }
      failures++;
      Duration pause = backoff.next(failures);
      getContext().getLog().warn("broker {}: cannot connect, reconnecting in {} ms because: {}",
          brokerId, pause.toMillis(), message(m.error()));
      failed("cannot connect: " + message(m.error()));
      enter(Phase.BACKOFF);
      timers.startSingleTimer(Retry.INSTANCE, pause);
      return this;
    }
    link = m.link();
    lostReported = false;
    dropUnroutable.set(link.config().dropUnroutable());
    Connection c = link.opened().connection();
    ActorRef<Command> self = getContext().getSelf();
    c.addShutdownListener(cause -> {
      if (!cause.isInitiatedByApplication()) {
        self.tell(new ConnectionLost(c, ConfirmingPublisher.describe(cause)));
      }
    });
    // RabbitMQ flow control (memory or disk alarm): the broker stops reading from the connection until unblocked.
    // Nothing is lost; the publisher's confirm-timeout clock stops meanwhile, so the pause causes no retries.
    ConfirmingPublisher.FlowControl fc = new ConfirmingPublisher.FlowControl();
    flow = fc;
    String endpoint = link.opened().endpoint().describe();
    c.addBlockedListener(
        reason -> {
          fc.blocked(reason);
          log.warn("broker {}: RabbitMQ blocked publishing: {}; waiting", brokerId, reason);
        },
        () -> {
          fc.unblocked();
          log.info("broker {}: RabbitMQ unblocked publishing on {}", brokerId, endpoint);
        });
    getContext().getLog().info("broker {}: connected to {}", brokerId, link.opened().endpoint().describe());
    connectedOnce = true;
    lastError = null;
    metrics.connectionState(brokerId, true);
    deps.store().recordConnection(brokerId, OWNER,
        link.opened().endpoint().host() + ":" + link.opened().endpoint().port());
    reportStatus();
    if (stopReplyTo != null || lock == null) {
      return stopping();
    }
    openChannel();
    return this;
  }

  private Behavior<Command> onConnectionLost(ConnectionLost m) {
    if (link == null || link.opened().connection() != m.connection()) {
      return this; // an old connection
    }
    reportLostConnection(m.reason());
    if (killSwitch != null) {
      killSwitch.abort(new IllegalStateException("connection lost: " + m.reason()));
    }
    return this;
  }

  /** Logs and records the loss of the current connection, once per connection. */
  private void reportLostConnection(String reason) {
    if (lostReported) {
      return;
    }
    lostReported = true;
    getContext().getLog().warn("broker {}: lost connection to {}: {}",
        brokerId, link.opened().endpoint().describe(), reason);
    failed("lost connection to " + link.opened().endpoint().describe() + ": " + reason);
    metrics.connectionState(brokerId, false);
  }

  // ---- stream

  private void openChannel() {
    enter(Phase.CONNECTING);
    Connection c = link.opened().connection();
    ConfirmingPublisher.FlowControl fc = flow;
    runBlocking(() -> ConfirmingPublisher.open(c, settings.confirmTimeout(), fc), ChannelOpened::new);
  }

  private Behavior<Command> onChannelOpened(ChannelOpened m) {
    busy = false;
    if (m.error() != null) {
      if (stopReplyTo != null) {
        return finishStop();
      }
      return afterFailure("cannot open a channel: " + message(m.error()));
    }
    publisher = m.publisher();
    if (stopReplyTo != null || lock == null) {
      closePublisher();
      return stopReplyTo != null ? finishStop() : reacquire();
    }
    startStream();
    return this;
  }

  private void startStream() {
    enter(Phase.RUNNING);
    long gen = ++generation;
    streamStartedNanos = System.nanoTime();
    SharedKillSwitch ks = KillSwitches.shared("broker-" + brokerId + "-" + gen);
    killSwitch = ks;
    ConfirmingPublisher pub = publisher;
    AtomicBoolean drop = dropUnroutable;
    OutboxStore store = deps.store();
    OutboxSource.InFlight inFlight = new OutboxSource.InFlight();
    // basicPublish may block on the socket: this stage runs on the AMQP dispatcher, in an island of its own (a
    // dispatcher attribute only takes effect at an async boundary) whose input buffer of one batch keeps the number
    // of claimed-but-unsettled rows close to batches-in-flight x batch-size.
    Flow<Declared, ConfirmingPublisher.Published, akka.NotUsed> publish = Flow.<Declared>create()
        .mapAsync(settings.batchesInFlight(), b -> {
          long t0 = System.nanoTime();
          return pub.publish(b.batch(), b.declarations()).thenApply(p -> {
            metrics.confirmLatency(brokerId, System.nanoTime() - t0);
            return p;
          });
        })
        .async("pgamqp-amqp-dispatcher", 1);
    ActorRef<Command> self = getContext().getSelf();
    CompletionStage<Boolean> done = OutboxSource.create(store, brokerId, lock.pid(), settings, wakeup, inFlight)
        .via(ks.flow())
        .mapAsync(1, this::withDeclarations)
        .via(publish)
        .mapAsync(1, p -> {
          Settlement s = Settlements.from(brokerId, p, settings.maxAttempts(), drop.get());
          BatchMetrics.record(metrics, brokerId, p, s);
          return store.settle(brokerId, s).thenApply(x -> {
            inFlight.settled(p.batch().size());
            if (s.retryNeeded()) {
              ks.shutdown(); // stop claiming; what is in flight settles, then the stream restarts in order
            }
            return s.retryNeeded();
          });
        })
        .runWith(Sink.fold(false, (acc, r) -> acc || r), getContext().getSystem());
    done.whenComplete((retry, error) ->
        self.tell(new StreamEnded(gen, retry != null && retry, unwrap(error))));
  }

  private record Declared(OutboxBatch batch, Map<String, ExchangeDeclaration> declarations) {}

  private CompletionStage<Declared> withDeclarations(OutboxBatch batch) {
    Set<String> names = null;
    for (OutboxRow r : batch.rows()) {
      if (r.isDeclaration()) {
        if (names == null) {
          names = new TreeSet<>();
        }
        names.add(r.exchange());
      }
    }
    if (names == null) {
      return CompletableFuture.completedFuture(new Declared(batch, Map.of()));
    }
    return deps.catalog().declarations(brokerId, names).thenApply(d -> new Declared(batch, d));
  }

  private Behavior<Command> onStreamEnded(StreamEnded m) {
    if (m.generation() != generation) {
      return this;
    }
    killSwitch = null;
    timers.cancel(DrainTimeout.INSTANCE);
    closePublisher();
    if (stopReplyTo != null) {
      return finishStop();
    }
    if (m.error() instanceof OutboxOwnershipLost || lock == null) {
      getContext().getLog().warn("broker {}: no longer the owner; standing by", brokerId);
      return reacquire();
    }
    boolean ranLong = System.nanoTime() - streamStartedNanos > settings.backoffMax().toNanos();
    if (ranLong) {
      failures = 0;
    }
    if (reconnectRequested) {
      reconnectRequested = false;
      failures = 0;
      closeLink();
      connect();
      return this;
    }
    if (m.error() != null) {
      return afterFailure("stream failed: " + message(m.error()));
    }
    if (m.retryNeeded()) {
      failures++;
      Duration pause = backoff.next(failures);
      getContext().getLog().info("broker {}: resending unconfirmed messages in order in {} ms", brokerId,
          pause.toMillis());
      enter(Phase.BACKOFF);
      timers.startSingleTimer(Retry.INSTANCE, pause);
      return this;
    }
    return afterFailure("stream completed unexpectedly");
  }

  private Behavior<Command> afterFailure(String why) {
    failures++;
    Duration pause = backoff.next(failures);
    boolean connectionOk = link != null && link.opened().connection().isOpen();
    getContext().getLog().warn("broker {}: {}; {} in {} ms", brokerId, why,
        connectionOk ? "restarting" : "reconnecting", pause.toMillis());
    failed(why);
    if (!connectionOk) {
      closeLink();
    }
    enter(Phase.BACKOFF);
    timers.startSingleTimer(Retry.INSTANCE, pause);
    return this;
  }

  private Behavior<Command> onRetry() {
    if (busy || phase == Phase.STOPPING) {
      return this;
    }
    if (lock == null) {
      acquire();
    } else if (link == null || !link.opened().connection().isOpen()) {
      if (link != null) {
        // The stream's retry may have won the race against the ConnectionLost message: say why we reconnect.
        com.rabbitmq.client.ShutdownSignalException why = link.opened().connection().getCloseReason();
        reportLostConnection(why == null ? "closed" : ConfirmingPublisher.describe(why));
      }
      closeLink();
      connect();
    } else {
      openChannel();
    }
    return this;
  }

  private Behavior<Command> reacquire() {
    timers.cancel(CheckOwnership.INSTANCE);
    closeLink();
    if (lock != null) {
      deps.store().recordOwnership(brokerId, OWNER, false);
      lock.close();
      lock = null;
    }
    metrics.owned(brokerId, false);
    enter(Phase.BACKOFF);
    timers.startSingleTimer(Retry.INSTANCE, settings.ownershipCheck());
    return this;
  }

  // ---- requests from SQL users

  private Behavior<Command> onConfigure(Configure m) {
    if (link != null && !link.config().endpoints().equals(m.config().endpoints())) {
      getContext().getLog().info("broker {}: its amqp.broker rows changed; reconnecting", brokerId);
      return requestReconnect();
    }
    if (link != null && dropUnroutable.getAndSet(m.config().dropUnroutable()) != m.config().dropUnroutable()) {
      getContext().getLog().info("broker {}: on_unroutable is now '{}'", brokerId,
          m.config().dropUnroutable() ? "drop" : "dead_letter");
    }
    return this;
  }

  private Behavior<Command> onDisconnect() {
    getContext().getLog().info("broker {}: amqp.disconnect requested; reconnecting with the current amqp.broker rows",
        brokerId);
    return requestReconnect();
  }

  private Behavior<Command> requestReconnect() {
    if (phase == Phase.RUNNING && killSwitch != null) {
      if (!reconnectRequested) {
        reconnectRequested = true;
        killSwitch.shutdown(); // let in-flight confirms finish, then reconnect
        timers.startSingleTimer(DrainTimeout.INSTANCE, settings.drainTimeout());
      }
    } else if (phase == Phase.BACKOFF) {
      timers.cancel(Retry.INSTANCE);
      failures = 0;
      onRetry();
    }
    return this;
  }

  private Behavior<Command> onDrainTimeout() {
    if (killSwitch != null) {
      getContext().getLog().warn("broker {}: in-flight confirms did not finish within {} ms; abandoning them"
          + " (they stay in the outbox and are sent again)", brokerId, settings.drainTimeout().toMillis());
      killSwitch.abort(new IllegalStateException("drain timeout"));
    }
    return this;
  }

  private Behavior<Command> onStop(Stop m) {
    stopReplyTo = m.replyTo();
    return stopping();
  }

  private Behavior<Command> stopping() {
    enter(Phase.STOPPING);
    timers.cancel(Retry.INSTANCE);
    timers.cancel(CheckOwnership.INSTANCE);
    if (killSwitch != null) {
      killSwitch.shutdown();
      timers.startSingleTimer(DrainTimeout.INSTANCE, settings.drainTimeout());
      return this;
    }
    if (busy) {
      return this; // finish when the blocking step reports back
    }
    return finishStop();
  }

  private Behavior<Command> finishStop() {
    if (lock != null) {
      deps.store().recordOwnership(brokerId, OWNER, false);
    }
    releaseAll();
    metrics.owned(brokerId, false);
    metrics.connectionState(brokerId, false);
    if (stopReplyTo != null) {
      stopReplyTo.tell(Done.getInstance());
    }
    getContext().getLog().info("broker {}: stopped", brokerId);
    return Behaviors.stopped();
  }

  // ---- status and metrics

  private void enter(Phase next) {
    if (next != phase) {
      phase = next;
      phaseSince = java.time.Instant.now();
    }
    reportStatus();
  }

  private void failed(String why) {
    lastError = why;
    if (lock != null) {
      deps.store().recordError(brokerId, OWNER, why);
    }
    reportStatus();
  }

  private void reportStatus() {
    String p = switch (phase) {
      case ACQUIRING, STANDBY -> BrokerStatus.STANDBY;
      case CONNECTING -> BrokerStatus.CONNECTING;
      case RUNNING -> BrokerStatus.RUNNING;
      case BACKOFF -> BrokerStatus.BACKOFF;
      case STOPPING -> BrokerStatus.STOPPING;
    };
    String to = link == null ? null : link.opened().endpoint().host() + ":" + link.opened().endpoint().port();
    statusListener.tell(new BrokerStatus(brokerId, p, lock != null, to, lastError, phaseSince));
  }

  // ---- helpers

  private void releaseAll() {
    if (killSwitch != null) {
      killSwitch.abort(new IllegalStateException("supervisor stopped"));
      killSwitch = null;
    }
    closePublisher();
    closeLink();
    if (lock != null) {
      lock.close();
      lock = null;
    }
  }

  /**
   * Closes the publisher's channel. That waits for the broker's close-ok, which a black-holed link never sends (the
   * wait ends only when heartbeats kill the connection, and then throws): off the actor's thread unless stopping.
   */
  private void closePublisher() {
    ConfirmingPublisher p = publisher;
    publisher = null;
    if (p == null) {
      return;
    }
    if (phase == Phase.STOPPING) {
      p.close();
      return;
    }
    try {
      CompletableFuture.runAsync(p::close, blocking);
    } catch (RuntimeException rejected) { // the dispatcher is shutting down
      p.close();
    }
  }

  private void closeLink() {
    if (link != null) {
      Connection c = link.opened().connection();
      if (phase == Phase.STOPPING || !c.isOpen()) {
        closeQuietly(c);
      } else {
        // Closing waits up to 2 s for the broker's close-ok, which a black-holed link never sends: not on the
        // actor's thread.
        try {
          CompletableFuture.runAsync(() -> closeQuietly(c), blocking);
        } catch (RuntimeException rejected) { // the dispatcher is shutting down
          closeQuietly(c);
        }
      }
      link = null;
      metrics.connectionState(brokerId, false);
      if (lock != null) {
        deps.store().recordConnection(brokerId, OWNER, null);
      }
    }
  }

  private static String hostName() {
    String h = System.getenv("HOSTNAME");
    if (h == null || h.isBlank()) {
      try {
        h = java.net.InetAddress.getLocalHost().getHostName();
      } catch (java.io.IOException e) {
        h = "localhost";
      }
    }
    return h;
  }

  private static void closeQuietly(Connection c) {
    try {
      if (c.isOpen()) {
        c.close(2_000);
      }
    } catch (Exception ignored) {
      // already closed or unreachable: nothing more to do
    }
  }

  @FunctionalInterface
  private interface BlockingStep<T> {
    T run() throws Exception;
  }

  private <T> void runBlocking(BlockingStep<T> step, java.util.function.BiFunction<T, Throwable, Command> reply) {
    busy = true;
    ActorRef<Command> self = getContext().getSelf();
    CompletableFuture.runAsync(() -> {
      T result;
      try {
        result = step.run();
      } catch (Throwable e) {
        self.tell(reply.apply(null, unwrap(e)));
        return;
      }
      self.tell(reply.apply(result, null));
    }, blocking);
  }

  private static Throwable unwrap(Throwable e) {
    while ((e instanceof CompletionException || e instanceof java.util.concurrent.ExecutionException)
        && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }

  private static String message(Throwable e) {
    if (e instanceof com.rabbitmq.client.ShutdownSignalException s) {
      return ConfirmingPublisher.describe(s);
    }
    String m = e.getMessage();
    if (m == null && e.getCause() != null) {
      return message(e.getCause()); // e.g. an IOException from createChannel wrapping the connection's shutdown
    }
    return m == null ? e.getClass().getSimpleName() : m;
  }
}
