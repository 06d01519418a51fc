package io.pgamqp.broker;

import java.util.List;

/**
 * What this bridge knows about its database and brokers at one moment, for {@code GET /health/ready}. Immutable.
 *
 * @param databaseReachable the outbox database answered recently (a query succeeded within its timeout)
 * @param databaseError why it did not, or null
 * @param brokers one entry per {@code broker_id} this bridge has a supervisor for, owned or standing by
 */
public record BridgeStatus(boolean databaseReachable, String databaseError, List<BrokerStatus> brokers) {
  public BridgeStatus {
    brokers = List.copyOf(brokers);
  }
}
