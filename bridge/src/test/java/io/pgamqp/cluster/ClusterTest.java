package io.pgamqp.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.faults.TcpProxy;
import io.pgamqp.testkit.BridgeProcess;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Tally;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bridge nodes in an Akka Cluster, each a separate JVM, sharing six brokers while SQL publishers commit continuously
 * (one per broker): a crashed node's brokers resume elsewhere, a leaving node hands its brokers over, a partitioned
 * node never drains a broker together with another, a joining node takes a share. Every test ends with lost = 0 and
 * each broker's messages in commit order. Needs PostgreSQL and RabbitMQ (the real ones on CI).
 */
@Tag("cluster")
@Timeout(240)
class ClusterTest {
  private static final int BROKERS = 6;
  private static final Duration SETTLE = Duration.ofSeconds(90);
  /** The longest a crashed node's brokers may go without a message (failure detection, downing, hand-over). */
  private static final double TAKE_OVER_GOAL_SECONDS = 15;

  @Test
  void killNineOfANodeMovesItsBrokersAndLosesNothing() throws Exception {
    try (ClusterRig rig = ClusterRig.create("cl-kill", BROKERS);
        ClusterNodes cluster = new ClusterNodes(rig.db, "cl-kill", 3)) {
      List<BridgeProcess> nodes = List.of(cluster.start(0), cluster.start(1), cluster.start(2));
      try {
        awaitSpread(rig, nodes);
        rig.startPublishers(5, 50);
        Thread.sleep(2_000);
        BridgeProcess victim = mostBrokers(rig, nodes);
        Set<Integer> moved = rig.ownedBy(victim.pid());
        long killedAt = System.nanoTime();
        victim.kill();
        List<BridgeProcess> survivors = nodes.stream().filter(n -> n != victim).toList();
        Eventually.until("brokers " + moved + " of the killed node resumed on the others", SETTLE,
            () -> ownedByAny(rig, survivors).containsAll(moved));
        Thread.sleep(2_000);
        rig.stopPublishers();
        Tally tally = rig.awaitAll(SETTLE);
        double gap = moved.stream().mapToDouble(b -> rig.longestSilenceSeconds(b, killedAt)).max().orElse(0);
        System.out.printf("cluster kill -9: the node owning brokers %s was killed; they resumed on the other nodes,"
            + " longest time without a message %.1f s (goal <= %.0f s); %s%n", new TreeSet<>(moved), gap,
            TAKE_OVER_GOAL_SECONDS, tally);
        tally.assertNothingLostInOrder();
        assertTrue(gap <= TAKE_OVER_GOAL_SECONDS,
            "the moved brokers went " + gap + " s without a message, goal <= " + TAKE_OVER_GOAL_SECONDS + " s");
      } catch (Throwable e) {
        System.out.println("cluster nodes' logs:" + cluster.logs());
        throw e;
      }
    }
  }

  @Test
  void gracefulLeaveHandsBrokersOverWithoutLossOrDuplicates() throws Exception {
    try (ClusterRig rig = ClusterRig.create("cl-leave", BROKERS);
        ClusterNodes cluster = new ClusterNodes(rig.db, "cl-leave", 3)) {
      List<BridgeProcess> nodes = List.of(cluster.start(0), cluster.start(1), cluster.start(2));
      try {
        awaitSpread(rig, nodes);
        rig.startPublishers(5, 50);
        Thread.sleep(2_000);
        BridgeProcess leaving = mostBrokers(rig, nodes);
        Set<Integer> moved = rig.ownedBy(leaving.pid());
        long stoppedAt = System.nanoTime();
        assertEquals(0, leaving.terminate(Duration.ofSeconds(60)), "SIGTERM exits 0");
        List<BridgeProcess> rest = nodes.stream().filter(n -> n != leaving).toList();
        Eventually.until("brokers " + moved + " of the leaving node taken over", SETTLE,
            () -> ownedByAny(rig, rest).containsAll(moved));
        Thread.sleep(2_000);
        rig.stopPublishers();
        Tally tally = rig.awaitAll(SETTLE);
        double gap = moved.stream().mapToDouble(b -> rig.longestSilenceSeconds(b, stoppedAt)).max().orElse(0);
        System.out.printf("cluster SIGTERM: the node owning brokers %s left; longest time without a message %.1f s;"
            + " %s%n", new TreeSet<>(moved), gap, tally);
        tally.assertNothingLostInOrder();
        assertEquals(0, tally.duplicates(), "a graceful hand-over settles in-flight confirms first");
        assertTrue(leaving.log().contains("handing over to another node"), leaving::log);
        // A clean stop reads clean: no WARN (Akka's remoting used to report its own teardown as failed streams).
        assertTrue(leaving.log().lines().noneMatch(l -> l.contains(" WARN ")), leaving::log);
      } catch (Throwable e) {
        System.out.println("cluster nodes' logs:" + cluster.logs());
        throw e;
      }
    }
  }

  /**
   * Node 2 advertises a proxy as its cluster address, so every cluster connection into it passes the proxy; refusing
   * and cutting them leaves node 2 unable to hear the others (nor they its replies) while it still reaches
   * PostgreSQL and RabbitMQ. Node 2 waits longer before its own downing decision (stable-after 20 s, the others 4 s),
   * so for a while the cluster is wrong: the majority has placed node 2's brokers on itself while node 2 still
   * drains them. The advisory lock keeps each broker to one drainer throughout: the majority's supervisor stands by,
   * pg_locks never shows two holders, and what arrives has no duplicate and no reordering. Node 2 then downs itself
   * and exits 1, its brokers move on; after healing, a new node 2 joins and takes a share again.
   */
  @Test
  void partitionedNodeNeverDrainsABrokerTogetherWithAnother() throws Exception {
    try (ClusterRig rig = ClusterRig.create("cl-split", BROKERS);
        ClusterNodes cluster = new ClusterNodes(rig.db, "cl-split", 3);
        TcpProxy intoNode2 = new TcpProxy("127.0.0.1", cluster.port(2))) {
      BridgeProcess node0 = cluster.start(0);
      BridgeProcess node1 = cluster.start(1);
      BridgeProcess node2 = cluster.start(2, intoNode2.port(), Map.of("pgamqp.cluster.stable-after", "20s"));
      LockSampler locks = new LockSampler(rig);
      try {
        awaitSpread(rig, List.of(node0, node1, node2));
        locks.start();
        rig.startPublishers(5, 50);
        Thread.sleep(2_000);
        Set<Integer> cutOff = rig.ownedBy(node2.pid());
        long cutAt = System.nanoTime();
        intoNode2.refuseNew(true);
        intoNode2.cutAll();
        Eventually.until("the majority placed node 2's brokers " + cutOff + " while node 2 still drains them", SETTLE,
            () -> cutOff.stream().allMatch(b -> standsBy(b, node0) || standsBy(b, node1)));
        assertTrue(node2.isAlive(), "node 2 has not downed itself yet");
        assertEquals(1, node2.awaitExit(SETTLE), "the partitioned minority node is downed and exits 1");
        assertTrue(node2.log().contains("downed by the cluster"), node2::log);
        Eventually.until("brokers " + cutOff + " of the partitioned node taken over", SETTLE,
            () -> ownedByAny(rig, List.of(node0, node1)).containsAll(cutOff));
        double gap = cutOff.stream().mapToDouble(b -> rig.longestSilenceSeconds(b, cutAt)).max().orElse(0);

        intoNode2.refuseNew(false);
        long rejoinAt = System.nanoTime();
        BridgeProcess node2again = cluster.start(2, intoNode2.port());
        Eventually.until("the restarted node 2 took a share of the brokers", SETTLE,
            () -> !rig.ownedBy(node2again.pid()).isEmpty());
        double rejoined = (System.nanoTime() - rejoinAt) / 1e9;
        Thread.sleep(2_000);
        rig.stopPublishers();
        Tally tally = rig.awaitAll(SETTLE);
        locks.stop();
        System.out.printf("cluster partition: node 2 (brokers %s) cut off from the cluster ports; the majority placed"
                + " its brokers and stood by on their locks while node 2 drained on; node 2 downed itself and"
                + " exited 1, its brokers resumed on the majority after at most %.1f s without a message; lock"
                + " holders sampled %d times, at most %d per broker; after healing a new node 2 joined and owned %s"
                + " after %.1f s; %s%n", new TreeSet<>(cutOff), gap, locks.samples.get(), locks.maxHolders.get(),
            new TreeSet<>(rig.ownedBy(node2again.pid())), rejoined, tally);
        tally.assertNothingLostInOrder();
        assertEquals(0, tally.duplicates(), "no broker was drained by two nodes");
        assertEquals(null, locks.error.get(), "lock sampling");
        assertTrue(locks.samples.get() > 10, "lock holders were sampled");
        assertEquals(1, locks.maxHolders.get(), "never two holders of one broker's lock");
      } catch (Throwable e) {
        System.out.println("cluster nodes' logs:" + cluster.logs());
        throw e;
      } finally {
        locks.stop();
      }
    }
  }

  @Test
  void joiningNodeTakesAShareOfTheBrokers() throws Exception {
    try (ClusterRig rig = ClusterRig.create("cl-join", BROKERS);
        ClusterNodes cluster = new ClusterNodes(rig.db, "cl-join", 3)) {
      List<BridgeProcess> two = List.of(cluster.start(0), cluster.start(1));
      try {
        awaitSpread(rig, two);
        rig.startPublishers(5, 50);
        Thread.sleep(1_000);
        long joinAt = System.nanoTime();
        BridgeProcess third = cluster.start(2);
        Eventually.until("the joining node owns brokers", SETTLE, () -> !rig.ownedBy(third.pid()).isEmpty());
        double took = (System.nanoTime() - joinAt) / 1e9;
        awaitSpread(rig, List.of(two.get(0), two.get(1), third));
        String ready = readiness(third);
        assertTrue(ready.contains("\"status\":\"UP\"") && ready.contains("\"cluster\":{\"member\":\"Up\"}"), ready);
        Thread.sleep(2_000);
        rig.stopPublishers();
        Tally tally = rig.awaitAll(SETTLE);
        Map<Integer, String> owners = rig.owners();
        System.out.printf("cluster join: a third node joined two and owned %s %.1f s after its start; owners %s;"
            + " %s%n", new TreeSet<>(rig.ownedBy(third.pid())), took, owners, tally);
        tally.assertNothingLostInOrder();
        assertEquals(0, tally.duplicates(), "rebalancing hands brokers over gracefully");
      } catch (Throwable e) {
        System.out.println("cluster nodes' logs:" + cluster.logs());
        throw e;
      }
    }
  }

  /** GET /health/ready of {@code node}, whose operations port is any free one: read from its log. */
  private static String readiness(BridgeProcess node) throws Exception {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("operations endpoint on http://[^:]+:(\\d+)")
        .matcher(node.log());
    assertTrue(m.find(), node::log);
    java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + m.group(1) + "/health/ready"))
            .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    return r.statusCode() + " " + r.body();
  }

  /** Waits until every broker is owned and connected by one of {@code nodes}, and each of them owns at least one. */
  private static void awaitSpread(ClusterRig rig, List<BridgeProcess> nodes) throws Exception {
    Eventually.until("all " + BROKERS + " brokers owned, spread over " + nodes.size() + " nodes", SETTLE, () -> {
      for (BridgeProcess n : nodes) {
        if (rig.ownedBy(n.pid()).isEmpty()) {
          return false;
        }
      }
      return ownedByAny(rig, nodes).size() == BROKERS;
    });
  }

  private static boolean standsBy(int brokerId, BridgeProcess node) {
    return node.log().contains("broker " + brokerId + ": another bridge drains it; standing by");
  }

  private static Set<Integer> ownedByAny(ClusterRig rig, List<BridgeProcess> nodes) throws Exception {
    Set<Integer> owned = new TreeSet<>();
    for (BridgeProcess n : nodes) {
      owned.addAll(rig.ownedBy(n.pid()));
    }
    return owned;
  }

  private static BridgeProcess mostBrokers(ClusterRig rig, List<BridgeProcess> nodes) throws Exception {
    List<BridgeProcess> sorted = new ArrayList<>(nodes);
    Map<BridgeProcess, Integer> counts = new java.util.HashMap<>();
    for (BridgeProcess n : nodes) {
      counts.put(n, rig.ownedBy(n.pid()).size());
    }
    sorted.sort(Comparator.comparing(counts::get));
    return sorted.get(sorted.size() - 1);
  }

  /** Samples pg_locks in the background: the most sessions that held one broker's ownership lock at once. */
  private static final class LockSampler {
    final AtomicInteger samples = new AtomicInteger();
    final AtomicInteger maxHolders = new AtomicInteger();
    final AtomicReference<Throwable> error = new AtomicReference<>();
    private final ClusterRig rig;
    private volatile boolean running = true;
    private Thread thread;

    LockSampler(ClusterRig rig) {
      this.rig = rig;
    }

    void start() {
      thread = new Thread(() -> {
        while (running) {
          try {
            for (int holders : rig.lockHolderCounts().values()) {
              maxHolders.accumulateAndGet(holders, Math::max);
            }
            samples.incrementAndGet();
            Thread.sleep(100);
          } catch (InterruptedException e) {
            return;
          } catch (Throwable e) {
            error.compareAndSet(null, e);
            return;
          }
        }
      }, "lock-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    void stop() throws InterruptedException {
      running = false;
      if (thread != null) {
        thread.join(5_000);
      }
    }
  }
}
