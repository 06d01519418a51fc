package io.pgamqp.cli;

import io.pgamqp.Bridge;
import io.pgamqp.config.PgamqpConfig;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import sun.misc.Signal;

/**
 * {@code run}: runs the bridge until SIGTERM/SIGINT, then stops gracefully and exits 0. A cluster node that the
 * cluster downs exits 1.
 */
final class RunCommand {
  private RunCommand() {}

  static int run(String[] args) throws Exception {
    // Handle TERM/INT ourselves so a graceful stop exits 0 (the JVM's default for SIGTERM is 143), and from before
    // the start: brokers may already drain while the operations endpoint still binds, and a stop then must be
    // graceful too. A signal during the start stops the bridge once it is up; a failed start is Main's to report.
    CompletableFuture<Bridge> started = new CompletableFuture<>();
    for (Bridge.StopReason reason : new Bridge.StopReason[] {Bridge.StopReason.SIGTERM, Bridge.StopReason.SIGINT}) {
      Signal.handle(new Signal(reason.name().substring(3)), s -> new Thread(() -> {
        Bridge up;
        try {
          up = started.join();
        } catch (CompletionException | CancellationException e) {
          return;
        }
        up.close(reason);
        System.exit(0);
      }, "pgamqp-stop").start());
    }
    Bridge bridge;
    try {
      bridge = Bridge.start(PgamqpConfig.load());
    } catch (RuntimeException | Error e) {
      started.completeExceptionally(e);
      throw e;
    }
    started.complete(bridge);
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
