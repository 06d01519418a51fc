package io.pgamqp.broker;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import io.pgamqp.logging.LogText;
import io.pgamqp.outbox.DisconnectRequests;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Turns {@code amqp_disconnect} notifications into reconnects, for real requests only and at most one per
 * {@code backoff-min} per broker. A notification (any role may send one) only makes it look for a request row in
 * {@code amqp.disconnect_request}, which only {@code amqp.disconnect()} writes; it looks at most once per
 * {@code backoff-min} per broker, so a flood of notifications costs one query per interval, and the requests made
 * meanwhile, kept in that row, become one reconnect.
 */
public final class DisconnectGate extends AbstractBehavior<DisconnectGate.Command> {

  public sealed interface Command {}

  /** Something said broker {@code brokerId} may have a request; {@code supervisor} reconnects it if so. */
  public record Requested(int brokerId, ActorRef<BrokerSupervisor.Command> supervisor) implements Command {}

  private record Due(int brokerId) implements Command {}

  private record Taken(int brokerId, String requestedBy, Throwable error) implements Command {}

  private final DisconnectRequests requests;
  private final long intervalNanos;
  private final TimerScheduler<Command> timers;
  private final Map<Integer, ActorRef<BrokerSupervisor.Command>> supervisors = new HashMap<>();
  private final Map<Integer, Long> lastLookedAt = new HashMap<>();
  private final Set<Integer> looking = new HashSet<>();
  private final Set<Integer> lookAgain = new HashSet<>();

  public static Behavior<Command> create(DisconnectRequests requests, Duration interval) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new DisconnectGate(ctx, timers, requests, interval)));
  }

  private DisconnectGate(ActorContext<Command> ctx, TimerScheduler<Command> timers, DisconnectRequests requests,
      Duration interval) {
    super(ctx);
    ctx.setLoggerName(DisconnectGate.class);
    this.timers = timers;
    this.requests = requests;
    this.intervalNanos = interval.toNanos();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Requested.class, this::onRequested)
        .onMessage(Due.class, m -> {
          look(m.brokerId());
          return this;
        })
        .onMessage(Taken.class, this::onTaken)
        .build();
  }

  private Behavior<Command> onRequested(Requested m) {
    int id = m.brokerId();
    supervisors.put(id, m.supervisor());
    if (looking.contains(id)) {
      lookAgain.add(id); // the row may have been written after the look began
    } else if (!timers.isTimerActive(id)) {
      Long last = lastLookedAt.get(id);
      long wait = last == null ? 0 : last + intervalNanos - System.nanoTime();
      if (wait > 0) {
        timers.startSingleTimer(id, new Due(id), Duration.ofNanos(wait));
      } else {
        look(id);
      }
    }
    return this;
  }

  private void look(int id) {
    looking.add(id);
    lastLookedAt.put(id, System.nanoTime());
    ActorRef<Command> self = getContext().getSelf();
    requests.take(id).whenComplete((by, e) -> self.tell(new Taken(id, by, e)));
  }

  private Behavior<Command> onTaken(Taken m) {
    int id = m.brokerId();
    looking.remove(id);
    if (m.error() != null) {
      getContext().getLog().warn("broker {}: cannot read its amqp.disconnect requests: {}", id,
          m.error().getMessage());
    } else if (m.requestedBy() != null) {
      getContext().getLog().info("broker {}: amqp.disconnect requested by role {}", id,
          LogText.value(m.requestedBy()));
      supervisors.get(id).tell(BrokerSupervisor.Disconnect.INSTANCE);
    }
    // After a failed look the row stays: the listener's reconnect, or the next notification, looks again.
    if (lookAgain.remove(id)) {
      onRequested(new Requested(id, supervisors.get(id)));
    }
    return this;
  }
}
