package io.pgamqp.cluster;

/**
 * Marks the messages that cross cluster nodes; reference.conf binds it to {@link ClusterMessageSerializer}. Only
 * {@link BrokerEntity.Ensure} does: notifications, status and stop requests stay on the node that hosts a broker.
 */
public interface ClusterMessage {}
