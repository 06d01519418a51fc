package io.pgamqp.cli;

import io.pgamqp.Bridge;
import io.pgamqp.config.PgamqpConfig;
import sun.misc.Signal;

/**
 * {@code run}: runs the bridge until SIGTERM/SIGINT, then stops gracefully and exits 0. A cluster node that the
 * cluster downs exits 1.
 */
final class RunCommand {
  private RunCommand() {}

  static int run(String[] args) throws Exception {
    Bridge bridge = Bridge.start(PgamqpConfig.load());
    // Handle TERM/INT ourselves so a graceful stop exits 0 (the JVM's default for SIGTERM is 143).
    for (Bridge.StopReason reason : new Bridge.StopReason[] {Bridge.StopReason.SIGTERM, Bridge.StopReason.SIGINT}) {
      Signal.handle(new Signal(reason.name().substring(3)), s -> new Thread(() -> {
        bridge.close(reason);
        System.exit(0);
      }, "pgamqp-stop").start());
    }
    bridge.whenTerminated().toCompletableFuture().join();
    if (bridge.downedByCluster()) {
      // Not a clean stop: exit non-zero so a process supervisor (systemd, Kubernetes) starts a fresh node, which
      // joins again once the partition heals.
      System.err.println("pgamqp: this node was downed by the cluster (split brain resolver); its brokers continue"
          + " on the surviving nodes");
      return 1;
    }
    return 0;
  }
}
