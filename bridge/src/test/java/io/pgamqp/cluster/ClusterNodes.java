package io.pgamqp.cluster;

import io.pgamqp.testkit.BridgeProcess;
import io.pgamqp.testkit.TestDatabase;
import java.io.IOException;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Bridge nodes of one cluster as separate JVMs ({@code run} with pgamqp.cluster.enabled) on 127.0.0.1, each with its
 * own cluster port; nodes 0 and 1 are the seed nodes. A node can be given a different advertised port than the one it
 * listens on, so that every connection into it passes a proxy the test controls.
 */
final class ClusterNodes implements AutoCloseable {
  private final TestDatabase db;
  private final String name;
  private final int[] ports;
  private final String seeds;
  private final List<BridgeProcess> started = new ArrayList<>();

  ClusterNodes(TestDatabase db, String name, int nodes) throws IOException {
    this.db = db;
    this.name = name;
    this.ports = new int[nodes];
    for (int i = 0; i < nodes; i++) {
      ports[i] = freePort();
    }
    this.seeds = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1];
  }

  /** The port node {@code i} listens on. */
  int port(int i) {
    return ports[i];
  }

  BridgeProcess start(int i) throws IOException {
    return start(i, ports[i]);
  }

  /** Starts node {@code i}, which tells the others to reach it at {@code advertisedPort} (a proxy, or its own). */
  BridgeProcess start(int i, int advertisedPort) throws IOException {
    return start(i, advertisedPort, Map.of());
  }

  /** As {@link #start(int, int)}, with extra settings (HOCON keys) for this node only. */
  BridgeProcess start(int i, int advertisedPort, Map<String, String> extra) throws IOException {
    // The environment variables the README documents, as an operator would set them.
    Map<String, String> env = new HashMap<>();
    env.put("PGAMQP_CLUSTER_ENABLED", "true");
    env.put("PGAMQP_CLUSTER_HOST", "127.0.0.1");
    env.put("PGAMQP_CLUSTER_PORT", String.valueOf(advertisedPort));
    env.put("PGAMQP_CLUSTER_SEED_NODES", seeds);
    Map<String, String> settings = new HashMap<>(extra);
    settings.put("pgamqp.cluster.bind-port", String.valueOf(ports[i]));
    BridgeProcess p = BridgeProcess.start(db, name + "-node" + i, settings, env);
    started.add(p);
    return p;
  }

  /** The last lines of every node's log, for a failure message. */
  String logs() {
    StringBuilder b = new StringBuilder();
    for (BridgeProcess p : started) {
      String log = p.log();
      b.append("\n--- node pid ").append(p.pid()).append(" ---\n")
          .append(log.length() <= 8_000 ? log : log.substring(log.length() - 8_000));
    }
    return b.toString();
  }

  @Override
  public void close() throws InterruptedException {
    for (BridgeProcess p : started) {
      p.close();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
