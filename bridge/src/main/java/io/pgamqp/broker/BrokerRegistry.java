package io.pgamqp.broker;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import io.pgamqp.outbox.NotificationListener;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Keeps one {@link BrokerSupervisor} per {@code broker_id} in {@code amqp.broker}: starts one for a new id, stops the
 * one of a removed id, passes row edits on. Re-reads the table on {@code amqp_broker_changed} notifications and every
 * {@code broker-refresh}, and routes {@code amqp_outbox} / {@code amqp_disconnect} notifications to the right broker.
 */
public final class BrokerRegistry extends AbstractBehavior<BrokerRegistry.Command> {

  public sealed interface Command {}

  /** A notification from the database (thread-safe to send from the listener thread). */
  public record Notified(NotificationListener.Notification notification) implements Command {}

  /** Stop every broker gracefully (in-flight confirms finish); replies when all have stopped. */
  public record Drain(ActorRef<Done> replyTo) implements Command {}

  private enum Refresh implements Command { INSTANCE }

  private record Loaded(Map<Integer, BrokerCatalog.BrokerConfig> brokers, Throwable error) implements Command {}

  private record SupervisorStopped(int brokerId) implements Command {}

  /** This bridge's view of its brokers and the database, for readiness. */
  public record GetStatus(ActorRef<BridgeStatus> replyTo) implements Command {}

  private record StatusChanged(BrokerStatus status) implements Command {}

  private enum SampleBacklog implements Command { INSTANCE }

  private static final String BACKLOG =
      "select broker_id, backlog, coalesce(extract(epoch from oldest_pending_age), 0) from amqp.status";

  private final BrokerSupervisor.Deps deps;
  private final Map<Integer, ActorRef<BrokerSupervisor.Command>> supervisors = new HashMap<>();
  private final Set<Integer> stopping = new HashSet<>();
  private final Map<Integer, BrokerStatus> statuses = new HashMap<>();
  private final ActorRef<BrokerStatus> statusAdapter;
  private boolean loading;
  private boolean reloadWanted;
  private ActorRef<Done> drainReplyTo;

  public static Behavior<Command> create(BrokerSupervisor.Deps deps) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new BrokerRegistry(ctx, timers, deps)));
  }

  private BrokerRegistry(ActorContext<Command> ctx, TimerScheduler<Command> timers, BrokerSupervisor.Deps deps) {
    super(ctx);
    this.deps = deps;
    this.statusAdapter = ctx.messageAdapter(BrokerStatus.class, StatusChanged::new);
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
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(StatusChanged.class, m -> {
          if (supervisors.containsKey(m.status().brokerId())) {
            statuses.put(m.status().brokerId(), m.status());
          }
          return this;
        })
        .onMessageEquals(SampleBacklog.INSTANCE, this::onSampleBacklog)
        .onSignal(PostStop.class, s -> this)
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
      getContext().getLog().warn("cannot read amqp.broker, retrying at the next refresh: {}", m.error().getMessage());
    } else {
      for (BrokerCatalog.BrokerConfig config : m.brokers().values()) {
        int id = config.brokerId();
        ActorRef<BrokerSupervisor.Command> ref = supervisors.get(id);
        if (ref == null && !stopping.contains(id)) {
          getContext().getLog().info("broker {}: found in amqp.broker ({} address(es)); starting", id,
              config.endpoints().size());
          ref = getContext().spawn(BrokerSupervisor.create(id, deps, statusAdapter), "broker-" + id);
          getContext().watchWith(ref, new SupervisorStopped(id));
          supervisors.put(id, ref);
        } else if (ref != null) {
          ref.tell(new BrokerSupervisor.Configure(config));
        }
      }
      for (Map.Entry<Integer, ActorRef<BrokerSupervisor.Command>> e : supervisors.entrySet()) {
        if (!m.brokers().containsKey(e.getKey()) && stopping.add(e.getKey())) {
          getContext().getLog().info("broker {}: removed from amqp.broker; stopping", e.getKey());
          e.getValue().tell(new BrokerSupervisor.Stop(getContext().getSystem().ignoreRef()));
        }
      }
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
      case "amqp_outbox" -> forward(n.payload(), BrokerSupervisor.Wake.INSTANCE);
      case "amqp_disconnect" -> forward(n.payload(), BrokerSupervisor.Disconnect.INSTANCE);
      case "amqp_broker_changed" -> load();
      case "" -> { // the listener reconnected: notifications may have been missed
        supervisors.values().forEach(s -> s.tell(BrokerSupervisor.Wake.INSTANCE));
        load();
      }
      default -> getContext().getLog().debug("ignoring notification on {}", n.channel());
    }
    return this;
  }

  private void forward(String payload, BrokerSupervisor.Command command) {
    try {
      ActorRef<BrokerSupervisor.Command> ref = supervisors.get(Integer.parseInt(payload.trim()));
      if (ref != null) {
        ref.tell(command);
      }
    } catch (NumberFormatException e) {
      getContext().getLog().warn("ignoring a notification with a payload that is not a broker_id: '{}'", payload);
    }
  }

  private Behavior<Command> onSupervisorStopped(SupervisorStopped m) {
    supervisors.remove(m.brokerId());
    statuses.remove(m.brokerId());
    if (stopping.remove(m.brokerId())) {
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

  private Behavior<Command> onGetStatus(GetStatus m) {
    java.util.List<BrokerStatus> brokers = new java.util.ArrayList<>(statuses.values());
    brokers.sort(java.util.Comparator.comparingInt(BrokerStatus::brokerId));
    deps.store().database().run(c -> c.isValid(2)).whenComplete((ok, e) -> {
      boolean reachable = e == null && Boolean.TRUE.equals(ok);
      String why = reachable ? null : e == null ? "connection is not valid" : e.getMessage();
      m.replyTo().tell(new BridgeStatus(reachable, why, brokers));
    });
    return this;
  }

  /** Feeds the backlog gauges and the drain-progress log; amqp.status keeps this cheap on a large backlog. */
  private Behavior<Command> onSampleBacklog() {
    if (supervisors.isEmpty()) {
      return this;
    }
    io.pgamqp.metrics.BridgeMetrics metrics = deps.metrics();
    deps.store().database().run(c -> {
      try (java.sql.Statement st = c.createStatement(); java.sql.ResultSet rs = st.executeQuery(BACKLOG)) {
        while (rs.next()) {
          metrics.backlog(rs.getInt(1), rs.getLong(2), rs.getDouble(3));
        }
      }
      return null;
    }).whenComplete((x, e) -> {
      if (e != null) {
        org.slf4j.LoggerFactory.getLogger(BrokerRegistry.class).debug("backlog sample failed: {}", e.getMessage());
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
