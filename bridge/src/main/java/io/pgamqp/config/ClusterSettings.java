package io.pgamqp.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Clustered {@code run}: subtree {@code pgamqp.cluster}. Immutable; validated on creation. When enabled, {@link
 * #akkaConfig} turns these few keys into the Akka settings they stand for (Artery TCP addresses, seed nodes, the Split
 * Brain Resolver), so users configure one place; every other {@code akka.cluster.*} key passes through unchanged.
 *
 * @param host the address other nodes reach this node at (Artery's canonical host)
 * @param port the cluster port other nodes connect to (Artery's canonical port)
 * @param bindHost the local address to listen on; differs from host behind NAT, a container or a proxy
 * @param bindPort the local port to listen on
 * @param seedNodes host:port of the nodes a starting node contacts to join; the first one forms the cluster
 * @param splitBrainResolver the SBR strategy deciding which side of a partition survives
 * @param stableAfter how long membership must be stable before the SBR downs unreachable nodes
 * @param downRemovalMargin after a node is downed, how long before its brokers start elsewhere
 * @param ensureInterval how often each node asks the cluster to run every broker in amqp.broker (restarts the brokers
 *     of a crashed node once it is downed)
 */
public record ClusterSettings(
    boolean enabled,
    String host,
    int port,
    String bindHost,
    int bindPort,
    List<String> seedNodes,
    String splitBrainResolver,
    Duration stableAfter,
    Duration downRemovalMargin,
    Duration ensureInterval) {

  /** The actor system's name: part of every node's address, so all nodes of a cluster must share it. */
  public static final String SYSTEM_NAME = "pgamqp";

  private static final Set<String> STRATEGIES = Set.of("keep-majority", "keep-oldest", "down-all");

  public ClusterSettings {
    seedNodes = List.copyOf(seedNodes);
  }

  public static ClusterSettings create(Config config) {
    Settings s = new Settings(config, "pgamqp.cluster");
    boolean enabled = s.bool("enabled");
    String host = s.string("host").trim();
    if (host.isEmpty()) {
      throw new ConfigError("setting pgamqp.cluster.host (env PGAMQP_CLUSTER_HOST) must be the address other nodes"
          + " reach this node at, such as 10.0.0.5");
    }
    int port = s.port("port", "PGAMQP_CLUSTER_PORT");
    String bindHost = s.string("bind-host").trim();
    String bindPortText = s.string("bind-port").trim();
    int bindPort = port;
    if (!bindPortText.isEmpty()) {
      bindPort = parsePort(bindPortText, "pgamqp.cluster.bind-port");
    }
    List<String> seeds = new ArrayList<>();
    for (String seed : s.string("seed-nodes").split(",")) {
      String trimmed = seed.trim();
      if (!trimmed.isEmpty()) {
        seeds.add(seedNode(trimmed));
      }
    }
    if (enabled && seeds.isEmpty()) {
      throw new ConfigError("setting pgamqp.cluster.seed-nodes (env PGAMQP_CLUSTER_SEED_NODES) must list host:port of"
          + " at least one node (comma-separated) when pgamqp.cluster.enabled is on; the first forms the cluster");
    }
    if (enabled && port == 0 && seeds.size() == 1) {
      throw new ConfigError("setting pgamqp.cluster.port (env PGAMQP_CLUSTER_PORT) must not be 0 (any free port)"
          + " on a seed node: other nodes must know where to join");
    }
    String sbr = s.string("split-brain-resolver").trim();
    if (!STRATEGIES.contains(sbr)) {
      throw new ConfigError("setting pgamqp.cluster.split-brain-resolver must be one of " + STRATEGIES.stream().sorted()
          .toList() + ", was '" + sbr + "'");
    }
    return new ClusterSettings(enabled, host, port, bindHost.isEmpty() ? host : bindHost, bindPort, seeds, sbr,
        s.positiveDuration("stable-after"), s.positiveDuration("down-removal-margin"),
        s.positiveDuration("ensure-interval"));
  }

  private static String seedNode(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    if (colon <= 0 || colon == hostPort.length() - 1) {
      throw new ConfigError("setting pgamqp.cluster.seed-nodes (env PGAMQP_CLUSTER_SEED_NODES): '" + hostPort
          + "' is not host:port");
    }
    int port = parsePort(hostPort.substring(colon + 1), "pgamqp.cluster.seed-nodes (env PGAMQP_CLUSTER_SEED_NODES)");
    if (port == 0) {
      throw new ConfigError("setting pgamqp.cluster.seed-nodes (env PGAMQP_CLUSTER_SEED_NODES): '" + hostPort
          + "' needs a real port, not 0");
    }
    return "akka://" + SYSTEM_NAME + "@" + hostPort.substring(0, colon) + ":" + port;
  }

  private static int parsePort(String text, String key) {
    try {
      int p = Integer.parseInt(text.trim());
      if (p >= 0 && p <= 65_535) {
        return p;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new ConfigError("setting " + key + ": '" + text + "' is not a TCP port (0..65535)");
  }

  /**
   * The Akka settings for a cluster node, to be layered over the user's configuration. A graceful leave hands every
   * broker over only after its in-flight confirms settled, so the sharding shut-down phase must outlast drain-timeout;
   * so must cluster-shutdown, where a downed node drains what it still runs.
   */
  public Config akkaConfig(Duration drainTimeout) {
    Duration handOff = drainTimeout.plusSeconds(10);
    return ConfigFactory.parseMap(Map.ofEntries(
        Map.entry("akka.actor.provider", "cluster"),
        Map.entry("akka.remote.artery.transport", "tcp"),
        Map.entry("akka.remote.artery.canonical.hostname", host),
        Map.entry("akka.remote.artery.canonical.port", port),
        Map.entry("akka.remote.artery.bind.hostname", bindHost),
        Map.entry("akka.remote.artery.bind.port", String.valueOf(bindPort)),
        Map.entry("akka.cluster.seed-nodes", seedNodes),
        Map.entry("akka.cluster.downing-provider-class", "akka.cluster.sbr.SplitBrainResolverProvider"),
        Map.entry("akka.cluster.split-brain-resolver.active-strategy", splitBrainResolver),
        Map.entry("akka.cluster.split-brain-resolver.stable-after", stableAfter.toMillis() + "ms"),
        Map.entry("akka.cluster.down-removal-margin", downRemovalMargin.toMillis() + "ms"),
        Map.entry("akka.cluster.sharding.handoff-timeout", handOff.plusSeconds(10).toMillis() + "ms"),
        // Akka's default moves one shard per rebalance round (10 s): a joining node would wait a minute for its
        // share of a few brokers. Half of them may move per round; each move is a drain of in-flight confirms.
        Map.entry("akka.cluster.sharding.least-shard-allocation-strategy.rebalance-absolute-limit", 100),
        Map.entry("akka.cluster.sharding.least-shard-allocation-strategy.rebalance-relative-limit", 0.5),
        Map.entry("akka.coordinated-shutdown.phases.cluster-sharding-shutdown-region.timeout",
            handOff.toMillis() + "ms"),
        Map.entry("akka.coordinated-shutdown.phases.cluster-shutdown.timeout", handOff.toMillis() + "ms")),
        "pgamqp.cluster");
  }
}
