package io.pgamqp.broker;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import io.pgamqp.logging.Outage;
import io.pgamqp.metrics.BridgeMetrics;
import io.pgamqp.outbox.NotificationListener;
import io.pgamqp.outbox.OutboxStore;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one {@link BrokerSupervisor} per {@code broker_id} in {@code amqp.broker}: starts one for a new id, stops the
 * one of a removed id, passes row edits on. Re-reads the table on {@code amqp_broker_changed} notifications and every
 * {@code broker-refresh}, and routes {@code amqp_outbox} / {@code amqp_disconnect} notifications to the right broker.
 *
 * <p>Clustered, the registry of each node does not start brokers itself: it asks the cluster, every
 * {@code ensure-interval}, that each broker run somewhere ({@code placement}), and hosts those that Cluster Sharding
 * places on its node ({@link Host}). Every node LISTENs, so notifications never cross nodes: each registry routes them
 * to the brokers it hosts.
 */
public final class BrokerRegistry extends AbstractBehavior<BrokerRegistry.Command> {
  // For callbacks off the actor's thread, which must not touch its context.
  private static final Logger log = LoggerFactory.getLogger(BrokerRegistry.class);

  public sealed interface Command {}

  /** A notification from the database (thread-safe to send from the listener thread). */
  public record Notified(NotificationListener.Notification notification) implements Command {}

  /** Stop every broker gracefully (in-flight confirms finish); replies when all have stopped. */
  public record Drain(ActorRef<Done> replyTo) implements Command {}

  private enum Refresh implements Command { INSTANCE }

  private record Loaded(Map<Integer, BrokerCatalog.BrokerConfig> brokers, Throwable error) implements Command {}

  private record SupervisorStopped(int brokerId, ActorRef<BrokerSupervisor.Command> ref) implements Command {}

  /**
   * Clustered: sharding placed broker brokerId on this node, as {@code entity}; start (or keep) its supervisor and
   * reply with it. The supervisor is stopped when the entity stops, however it stops.
   */
  public record Host(int brokerId, ActorRef<Hosted> replyTo, ActorRef<?> entity) implements Command {}

  public record Hosted(int brokerId, ActorRef<BrokerSupervisor.Command> supervisor) {}

  /** Clustered: the broker leaves this node; stop its supervisor gracefully (in-flight confirms settle first). */
  public record Release(ActorRef<BrokerSupervisor.Command> supervisor) implements Command {}

  private record EntityStopped(ActorRef<BrokerSupervisor.Command> supervisor) implements Command {}

  private enum EnsureAll implements Command { INSTANCE }

  /**
   * Clustered: this node is leaving; stop asking for brokers to run. Asking on would start the brokers sharding is
   * about to hand over again here, and keep the node's shard region from finishing its hand-over.
   */
  public enum StopPlacing implements Command { INSTANCE }

  /** This bridge's view of its brokers and the database, for readiness. */
  public record GetStatus(ActorRef<BridgeStatus> replyTo) implements Command {}

  private record StatusChanged(BrokerStatus status) implements Command {}

  private enum SampleBacklog implements Command { INSTANCE }

  private final BrokerSupervisor.Deps deps;
  private final Map<Integer, ActorRef<BrokerSupervisor.Command>> supervisors = new HashMap<>();
  // Supervisors told to stop; clustered, a broker handed back to this node may get a new one while the old one drains.
  private final Set<ActorRef<BrokerSupervisor.Command>> stopping = new HashSet<>();
  // Clustered only: asks the cluster to run a broker somewhere; null when this process owns its brokers itself.
  private final IntConsumer placement;
  private Set<Integer> known = Set.of();
  private boolean placing = true;
  private int spawned;
  private final Map<Integer, BrokerStatus> statuses = new HashMap<>();
  private final ActorRef<BrokerStatus> statusAdapter;
  private boolean loading;
  private boolean reloadWanted;
  private ActorRef<Done> drainReplyTo;
  private final ActorRef<DisconnectGate.Command> disconnects;
  private final Outage catalogOutage = new Outage(); // failed reads of amqp.broker, logged once per outage

  /** One process: starts a supervisor for every broker (each stands by while another process holds its lock). */
  public static Behavior<Command> create(BrokerSupervisor.Deps deps) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new BrokerRegistry(ctx, timers, deps, null)));
  }

  /**
   * A cluster node: {@code placement} is given this registry and returns how to ask the cluster to run a broker;
   * brokers run where the cluster places them, asked for again every {@code ensureInterval}.
   */
  public static Behavior<Command> clustered(BrokerSupervisor.Deps deps,
      Function<ActorRef<Command>, IntConsumer> placement, Duration ensureInterval) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(EnsureAll.INSTANCE, ensureInterval);
      return new BrokerRegistry(ctx, timers, deps, placement.apply(ctx.getSelf()));
    }));
  }

  private BrokerRegistry(ActorContext<Command> ctx, TimerScheduler<Command> timers, BrokerSupervisor.Deps deps,
      IntConsumer placement) {
    super(ctx);
    ctx.setLoggerName(BrokerRegistry.class);
    this.deps = deps;
    this.placement = placement;
    this.statusAdapter = ctx.messageAdapter(BrokerStatus.class, StatusChanged::new);
    this.disconnects = ctx.spawn(DisconnectGate.create(deps.store().disconnectRequests(),
        deps.settings().backoffMin()), "disconnect-requests");
    timers.startTimerWithFixedDelay(Refresh.INSTANCE, deps.settings().brokerRefresh());
    timers.startTimerWithFixedDelay(SampleBacklog.INSTANCE, deps.settings().progressInterval());
    load();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessageEquals(Refresh.INSTANCE, () -> {
          load();
          return this;
        })
        .onMessage(Loaded.class, this::onLoaded)
        .onMessage(Notified.class, this::onNotified)
        .onMessage(SupervisorStopped.class, this::onSupervisorStopped)
        .onMessage(Drain.class, this::onDrain)
        .onMessage(Host.class, this::onHost)
        .onMessage(Release.class, m -> release(m.supervisor()))
        .onMessage(EntityStopped.class, m -> release(m.supervisor()))
        .onMessageEquals(EnsureAll.INSTANCE, () -> {
          ensureAll();
          return this;
        })
        .onMessageEquals(StopPlacing.INSTANCE, () -> {
          placing = false;
          return this;
        })
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(StatusChanged.class, m -> {
          if (supervisors.containsKey(m.status().brokerId())) {
            statuses.put(m.status().brokerId(), m.status());
          }
          return this;
        })
        .onMessageEquals(SampleBacklog.INSTANCE, this::onSampleBacklog)
        .build();
  }

  private void load() {
    if (drainReplyTo != null) {
      return;
    }
    if (loading) {
      reloadWanted = true;
      return;
    }
    loading = true;
    ActorRef<Command> self = getContext().getSelf();
    deps.catalog().brokers().whenComplete((b, e) -> self.tell(new Loaded(b, e)));
  }

  private Behavior<Command> onLoaded(Loaded m) {
    loading = false;
    if (drainReplyTo != null) {
      return this;
    }
    if (m.error() != null) {
      if (catalogOutage.failed()) {
        getContext().getLog().warn("{}; retrying at every refresh until it answers", loadProblem(m.error()));
      }
    } else {
      Outage.Ended ended = catalogOutage.recovered();
      if (ended != null) {
        getContext().getLog().info("amqp.broker is readable again, after {} ms", ended.lasted().toMillis());
      }
      for (BrokerCatalog.BrokerConfig config : m.brokers().values()) {
        int id = config.brokerId();
        ActorRef<BrokerSupervisor.Command> ref = supervisors.get(id);
        if (ref == null && placement == null) {
          getContext().getLog().info("broker {}: found in amqp.broker ({} address(es)); starting", id,
              config.endpoints().size());
          spawn(id);
        } else if (ref != null && !stopping.contains(ref)) {
          ref.tell(new BrokerSupervisor.Configure(config));
        }
      }
      for (Map.Entry<Integer, ActorRef<BrokerSupervisor.Command>> e : supervisors.entrySet()) {
        if (!m.brokers().containsKey(e.getKey()) && stopping.add(e.getValue())) {
          getContext().getLog().info("broker {}: removed from amqp.broker; stopping", e.getKey());
          e.getValue().tell(new BrokerSupervisor.Stop(getContext().getSystem().ignoreRef()));
        }
      }
      known = Set.copyOf(m.brokers().keySet());
      ensureAll();
    }
    if (reloadWanted) {
      reloadWanted = false;
      load();
    }
    return this;
  }

  private Behavior<Command> onNotified(Notified m) {
    NotificationListener.Notification n = m.notification();
    switch (n.channel()) {
      case "amqp_outbox" -> forward(n.payload(), (id, s) -> s.tell(BrokerSupervisor.Wake.INSTANCE));
      case "amqp_scheduled" -> forward(n.payload(), (id, s) -> s.tell(BrokerSupervisor.Wake.SCHEDULED));
      case "amqp_disconnect" -> // only looks for a request row: any role may NOTIFY
          forward(n.payload(), (id, s) -> disconnects.tell(new DisconnectGate.Requested(id, s)));
      case "amqp_broker_changed" -> load();
      case "" -> { // the listener reconnected: notifications may have been missed
        supervisors.values().forEach(s -> s.tell(BrokerSupervisor.Wake.SCHEDULED));
        supervisors.forEach((id, s) -> disconnects.tell(new DisconnectGate.Requested(id, s)));
        load();
      }
      default -> getContext().getLog().debug("ignoring notification on {}", n.channel());
    }
    return this;
  }

  private ActorRef<BrokerSupervisor.Command> spawn(int id) {
    // A broker handed back to this node may still have its previous supervisor draining: names must differ.
    String name = getContext().getChild("broker-" + id).isPresent() ? "broker-" + id + "-" + (++spawned) : "broker-" + id;
    ActorRef<BrokerSupervisor.Command> ref = getContext().spawn(BrokerSupervisor.create(id, deps, statusAdapter), name);
    getContext().watchWith(ref, new SupervisorStopped(id, ref));
    supervisors.put(id, ref);
    return ref;
  }

  /** Clustered: ask that every broker run somewhere; sharding starts those whose node crashed elsewhere. */
  private void ensureAll() {
    if (placement != null && placing && drainReplyTo == null) {
      known.forEach(placement::accept);
    }
  }

  private Behavior<Command> onHost(Host m) {
    if (drainReplyTo != null) {
      return this; // shutting down: the entity is handed over again, elsewhere
    }
    ActorRef<BrokerSupervisor.Command> ref = supervisors.get(m.brokerId());
    if (ref == null || stopping.contains(ref)) {
      getContext().getLog().info("broker {}: placed on this node by the cluster; starting", m.brokerId());
      ref = spawn(m.brokerId());
    }
    getContext().watchWith(m.entity(), new EntityStopped(ref));
    m.replyTo().tell(new Hosted(m.brokerId(), ref));
    return this;
  }

  private Behavior<Command> release(ActorRef<BrokerSupervisor.Command> supervisor) {
    if (supervisors.containsValue(supervisor) && stopping.add(supervisor)) {
      supervisor.tell(new BrokerSupervisor.Stop(getContext().getSystem().ignoreRef()));
    }
    return this;
  }

  private void forward(String payload, BiConsumer<Integer, ActorRef<BrokerSupervisor.Command>> action) {
    try {
      int id = Integer.parseInt(payload.trim());
      ActorRef<BrokerSupervisor.Command> ref = supervisors.get(id);
      if (ref != null) {
        action.accept(id, ref);
      }
    } catch (NumberFormatException e) {
      // The listener passes on broker_ids only; this is a guard, never the payload itself.
      getContext().getLog().warn("ignoring a notification whose payload is not a broker_id");
    }
  }

  private Behavior<Command> onSupervisorStopped(SupervisorStopped m) {
    boolean wasStopping = stopping.remove(m.ref());
    if (!supervisors.remove(m.brokerId(), m.ref())) {
      return this; // an earlier supervisor of a broker that has a new one
    }
    statuses.remove(m.brokerId());
    if (wasStopping) {
      deps.metrics().brokerRemoved(m.brokerId());
    }
    if (drainReplyTo != null && supervisors.isEmpty()) {
      drainReplyTo.tell(Done.getInstance());
      return Behaviors.stopped();
    }
    if (drainReplyTo == null) {
      load(); // it may have stopped by failure, or been re-added meanwhile
    }
    return this;
  }

  private String loadProblem(Throwable e) {
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof SQLException sql && ("3F000".equals(sql.getSQLState()) || "42P01".equals(sql.getSQLState()))) {
        return OutboxStore.schemaMissing(deps.database().displayUrl());
      }
    }
    return "cannot read amqp.broker: " + ErrorText.of(e);
  }

  private Behavior<Command> onGetStatus(GetStatus m) {
    List<BrokerStatus> brokers = new ArrayList<>(statuses.values());
    brokers.sort(Comparator.comparingInt(BrokerStatus::brokerId));
    deps.store().unreachable().thenCompose(why -> why != null
            ? CompletableFuture.completedFuture(new BridgeStatus(false, why, brokers))
            : deps.store().schemaProblem().thenApply(p -> new BridgeStatus(true, null, brokers).withSchemaProblem(p)))
        .thenAccept(m.replyTo()::tell);
    return this;
  }

  /** Feeds the backlog gauges and the drain-progress log. */
  private Behavior<Command> onSampleBacklog() {
    if (supervisors.isEmpty()) {
      return this;
    }
    BridgeMetrics metrics = deps.metrics();
    deps.store().backlog().whenComplete((all, e) -> {
      if (e != null) {
        log.debug("backlog sample failed: {}", e.getMessage());
      } else {
        all.forEach(b -> {
          metrics.backlog(b.brokerId(), b.rows(), b.oldestSeconds());
          metrics.held(b.brokerId(), b.held().stream()
              .map(h -> new BridgeMetrics.HeldSample(h.exchange(), h.ageSeconds(), h.waiting())).toList());
        });
      }
    });
    return this;
  }

  private Behavior<Command> onDrain(Drain m) {
    drainReplyTo = m.replyTo();
    if (supervisors.isEmpty()) {
      m.replyTo().tell(Done.getInstance());
      return Behaviors.stopped();
    }
    supervisors.values().forEach(s -> s.tell(new BrokerSupervisor.Stop(getContext().getSystem().ignoreRef())));
    return this;
  }
}
