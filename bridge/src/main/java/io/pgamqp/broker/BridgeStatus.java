package io.pgamqp.broker;

import java.util.List;

/**
 * What this bridge knows about its database, brokers and cluster membership at one moment, for
 * {@code GET /health/ready}. Immutable.
 *
 * @param databaseReachable the outbox database answered recently (a query succeeded within its timeout)
 * @param databaseError why it did not, or null
 * @param brokers one entry per {@code broker_id} this bridge has a supervisor for, owned or standing by
 * @param clusterMember this node's Akka Cluster member status ({@code Up}, {@code Joining}, ...), or null when not
 *     clustered
 * @param schemaProblem schema amqp is missing or older than this bridge (the text says which and what to run), or null
 */
public record BridgeStatus(boolean databaseReachable, String databaseError, List<BrokerStatus> brokers,
    String clusterMember, String schemaProblem) {
  public BridgeStatus {
    brokers = List.copyOf(brokers);
  }

  public BridgeStatus(boolean databaseReachable, String databaseError, List<BrokerStatus> brokers,
      String clusterMember) {
    this(databaseReachable, databaseError, brokers, clusterMember, null);
  }

  /** Not clustered. */
  public BridgeStatus(boolean databaseReachable, String databaseError, List<BrokerStatus> brokers) {
    this(databaseReachable, databaseError, brokers, null, null);
  }

  public BridgeStatus withClusterMember(String status) {
    return new BridgeStatus(databaseReachable, databaseError, brokers, status, schemaProblem);
  }

  /** {@code problem}: schema amqp missing or older than the bridge ({@code OutboxStore.schemaProblem}), or null. */
  public BridgeStatus withSchemaProblem(String problem) {
    return new BridgeStatus(databaseReachable, databaseError, brokers, clusterMember, problem);
  }
}
