package io.pgamqp.cluster;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.ShardingEnvelope;
import akka.cluster.sharding.typed.ShardingMessageExtractor;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import io.pgamqp.broker.BrokerRegistry;
import java.util.function.IntConsumer;

/** Starts Cluster Sharding for brokers on this node and says how a registry asks for a broker to run somewhere. */
public final class BrokerShards {
  private BrokerShards() {}

  /**
   * Registers this node's registry as the host of the brokers sharding places here, and returns the registry's way to
   * ask that a broker run somewhere in the cluster.
   */
  public static IntConsumer start(ActorSystem<?> system, ActorRef<BrokerRegistry.Command> registry) {
    ActorRef<ShardingEnvelope<BrokerEntity.Command>> region = ClusterSharding.get(system).init(
        Entity.of(BrokerEntity.TYPE_KEY, ctx -> BrokerEntity.create(Integer.parseInt(ctx.getEntityId()), registry))
            .withStopMessage(BrokerEntity.HandOff.INSTANCE)
            .withMessageExtractor(new OneBrokerPerShard()));
    return brokerId -> region.tell(new ShardingEnvelope<>(String.valueOf(brokerId), new BrokerEntity.Ensure(brokerId)));
  }

  /**
   * Shard = broker. Sharding balances and moves whole shards; with one broker each, six brokers on three nodes end up
   * two per node and a joining node takes whole brokers, where hashing many brokers into few shards would not.
   */
  private static final class OneBrokerPerShard
      extends ShardingMessageExtractor<ShardingEnvelope<BrokerEntity.Command>, BrokerEntity.Command> {
    @Override
    public String entityId(ShardingEnvelope<BrokerEntity.Command> envelope) {
      return envelope.entityId();
    }

    @Override
    public String shardId(String entityId) {
      return entityId;
    }

    @Override
    public BrokerEntity.Command unwrapMessage(ShardingEnvelope<BrokerEntity.Command> envelope) {
      return envelope.message();
    }
  }
}
