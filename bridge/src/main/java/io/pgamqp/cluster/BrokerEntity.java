package io.pgamqp.cluster;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import io.pgamqp.broker.BrokerRegistry;
import io.pgamqp.broker.BrokerSupervisor;

/**
 * The cluster-wide identity of one broker: Cluster Sharding keeps exactly one of these per broker_id, on one node,
 * and this entity has that node's {@link BrokerRegistry} host the broker's {@link BrokerSupervisor}. The supervisor
 * stays the registry's child (one place routes notifications, status and metrics on a node); the entity only decides
 * where it runs and for how long.
 *
 * <p>On hand-over (a node leaves, or a rebalance moves the broker) sharding sends {@link HandOff}: the supervisor
 * stops gracefully, in-flight confirms settle and their rows are deleted, its advisory lock is released, and only
 * then does the entity stop, which lets sharding start the broker on its new node. That order is what makes a
 * hand-over lose and duplicate nothing. Even if the cluster were wrong about ownership (a partition), the new node's
 * supervisor stands by until the old one's lock is gone.
 */
public final class BrokerEntity extends AbstractBehavior<BrokerEntity.Command> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "broker");

  public sealed interface Command {}

  /** "Broker brokerId must run somewhere": every node sends it for each row of amqp.broker; its arrival starts us. */
  public record Ensure(int brokerId) implements Command, ClusterMessage {}

  /** Sharding's stop message: hand the broker over after in-flight confirms settled. Never leaves its node. */
  public enum HandOff implements Command { INSTANCE }

  private record Hosted(BrokerRegistry.Hosted hosted) implements Command {}

  private enum SupervisorStopped implements Command { INSTANCE }

  private final int brokerId;
  private final ActorRef<BrokerRegistry.Command> registry;
  private ActorRef<BrokerSupervisor.Command> supervisor;
  private boolean handingOff;

  public static Behavior<Command> create(int brokerId, ActorRef<BrokerRegistry.Command> registry) {
    return Behaviors.setup(ctx -> new BrokerEntity(ctx, brokerId, registry));
  }

  private BrokerEntity(ActorContext<Command> ctx, int brokerId, ActorRef<BrokerRegistry.Command> registry) {
    super(ctx);
    this.brokerId = brokerId;
    this.registry = registry;
    // The registry watches us: if we stop without a hand-over (this node was downed, its shard region stopped), it
    // stops the supervisor all the same, gracefully.
    registry.tell(new BrokerRegistry.Host(brokerId, ctx.messageAdapter(BrokerRegistry.Hosted.class, Hosted::new),
        ctx.getSelf()));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Ensure.class, m -> this)
        .onMessage(Hosted.class, this::onHosted)
        .onMessageEquals(HandOff.INSTANCE, this::onHandOff)
        .onMessageEquals(SupervisorStopped.INSTANCE, () -> {
          if (!handingOff) {
            getContext().getLog().info("broker {}: its supervisor stopped; the cluster restarts it if the broker"
                + " is still in amqp.broker", brokerId);
          }
          return Behaviors.stopped();
        })
        .build();
  }

  private Behavior<Command> onHosted(Hosted m) {
    supervisor = m.hosted().supervisor();
    getContext().watchWith(supervisor, SupervisorStopped.INSTANCE);
    if (handingOff) {
      registry.tell(new BrokerRegistry.Release(supervisor));
    }
    return this;
  }

  private Behavior<Command> onHandOff() {
    if (handingOff) {
      return this;
    }
    handingOff = true;
    getContext().getLog().info("broker {}: handing over to another node once in-flight confirms settle", brokerId);
    if (supervisor == null) {
      return Behaviors.stopped(); // nothing runs here yet; the registry stops what it may still start for us
    }
    registry.tell(new BrokerRegistry.Release(supervisor));
    return this; // stops when the supervisor has (SupervisorStopped)
  }
}
