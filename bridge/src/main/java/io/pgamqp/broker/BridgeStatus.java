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
 */
public record BridgeStatus(boolean databaseReachable, String databaseError, List<BrokerStatus> brokers,
    String clusterMember) {
  public BridgeStatus {
    brokers = List.copyOf(brokers);
  }

  /** Not clustered. */
  public BridgeStatus(boolean databaseReachable, String databaseError, List<BrokerStatus> brokers) {
    this(databaseReachable, databaseError, brokers, null);
  }

  public BridgeStatus withClusterMember(String status) {
    return new BridgeStatus(databaseReachable, databaseError, brokers, status);
  }
}
