package io.pgamqp.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.pgamqp.Bridge;
import io.pgamqp.broker.ConfirmingPublisher;
import io.pgamqp.broker.ConfirmingPublisher.Outcome;
import io.pgamqp.outbox.OutboxBatch;
import io.pgamqp.outbox.OutboxRow;
import io.pgamqp.testkit.AmqpEndpoint;
import io.pgamqp.testkit.AmqpTestClient;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Tally;
import io.pgamqp.testkit.TestServers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * RabbitMQ flow control ({@code connection.blocked} / {@code unblocked}, sent on a memory or disk alarm): a blocked
 * period pauses publishing and must not turn into confirm timeouts, retries and duplicates. A shared RabbitMQ cannot be
 * put into alarm by a test, so {@link AmqpFlowControlProxy} plays it: it sends the client real
 * {@code connection.blocked}/{@code unblocked} frames and holds the client's bytes meanwhile, as a blocked broker that
 * stops reading does. Needs PostgreSQL and RabbitMQ (or the embedded broker).
 */
@Tag("faults")
@Timeout(90)
class FlowControlTest {
  private static final Duration CONFIRM_TIMEOUT = Duration.ofSeconds(1);

  /** The publisher's confirm clock stops while blocked: held 3x the timeout, every message is confirmed once. */
  @Test
  void publisherDoesNotTimeOutWhileBlocked() throws Exception {
    try (Fixture f = new Fixture()) {
      ConfirmingPublisher.FlowControl flow = new ConfirmingPublisher.FlowControl();
      ConfirmingPublisher pub = ConfirmingPublisher.open(f.connection, CONFIRM_TIMEOUT, flow);
      flow.blocked();
      f.proxy.block("simulated memory alarm");
      CompletableFuture<ConfirmingPublisher.Published> done = pub.publish(f.batch("blocked", 20), Map.of())
          .toCompletableFuture();
      Thread.sleep(3 * CONFIRM_TIMEOUT.toMillis());
      assertFalse(done.isDone(), "no confirm timeout while blocked");
      f.proxy.unblock();
      flow.unblocked();
      ConfirmingPublisher.Published p = done.get(5, TimeUnit.SECONDS);
      assertTrue(Arrays.stream(p.outcomes()).allMatch(o -> o == Outcome.CONFIRMED), Arrays.toString(p.outcomes()));
      assertEquals(20, f.amqp.drain(f.queue, 20, Duration.ofSeconds(5)).size(), "each message once");
      pub.close();
    }
  }

  /** Control: without the blocked signal the same silence is a confirm timeout (and a retry would duplicate). */
  @Test
  void withoutTheBlockedSignalSilenceIsATimeout() throws Exception {
    try (Fixture f = new Fixture()) {
      ConfirmingPublisher.FlowControl flow = new ConfirmingPublisher.FlowControl();
      ConfirmingPublisher pub = ConfirmingPublisher.open(f.connection, CONFIRM_TIMEOUT, flow);
      f.proxy.block("held, but the publisher is not told");
      long t0 = System.nanoTime();
      ConfirmingPublisher.Published p = pub.publish(f.batch("silent", 20), Map.of()).toCompletableFuture()
          .get(5, TimeUnit.SECONDS);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(Arrays.stream(p.outcomes()).allMatch(o -> o == Outcome.TIMED_OUT), Arrays.toString(p.outcomes()));
      assertTrue(ms >= CONFIRM_TIMEOUT.toMillis() - 50 && ms < 3_000, "timed out after " + ms + " ms");
      f.proxy.unblock();
      // The broker gets them anyway: had they been retried, each would have arrived twice.
      assertEquals(20, f.amqp.drain(f.queue, 20, Duration.ofSeconds(5)).size());
      pub.close();
    }
  }

  /** Unblocking restarts the clock: a message still unconfirmed a full timeout after unblocked times out. */
  @Test
  void unblockRestartsTheConfirmClock() throws Exception {
    try (Fixture f = new Fixture()) {
      ConfirmingPublisher.FlowControl flow = new ConfirmingPublisher.FlowControl();
      ConfirmingPublisher pub = ConfirmingPublisher.open(f.connection, CONFIRM_TIMEOUT, flow);
      flow.blocked();
      f.proxy.block("simulated disk alarm");
      CompletableFuture<ConfirmingPublisher.Published> done = pub.publish(f.batch("late", 5), Map.of())
          .toCompletableFuture();
      Thread.sleep(2_000);
      flow.unblocked(); // the publisher is told, but the broker still reads nothing
      long unblocked = System.nanoTime();
      Thread.sleep(CONFIRM_TIMEOUT.toMillis() / 2);
      assertFalse(done.isDone(), "not timed out half a timeout after unblocked");
      ConfirmingPublisher.Published p = done.get(5, TimeUnit.SECONDS);
      long ms = (System.nanoTime() - unblocked) / 1_000_000;
      assertTrue(Arrays.stream(p.outcomes()).allMatch(o -> o == Outcome.TIMED_OUT), Arrays.toString(p.outcomes()));
      assertTrue(ms >= CONFIRM_TIMEOUT.toMillis() - 50, "timed out " + ms + " ms after unblocked");
      f.proxy.unblock();
      pub.close();
    }
  }

  /**
   * End to end: the bridge, its broker row pointing at the proxy, confirm-timeout 1 s, blocked for 5 s while 1,000
   * messages are committed. It must log the block and the unblock, send nothing while blocked, and afterwards deliver
   * everything exactly once, in order.
   */
  @Test
  void bridgeWaitsOutABlockedConnectionWithoutDuplicates() throws Exception {
    AmqpEndpoint broker = TestServers.get().amqp();
    try (AmqpFlowControlProxy proxy = new AmqpFlowControlProxy(broker.host(), broker.port());
        FaultRig rig = FaultRig.create("flowctl", broker.withPort(proxy.port()));
        LogWatch logs = new LogWatch()) {
      Bridge bridge = BridgeRunner.start(rig.db, Map.of(
          "pgamqp.bridge.confirm-timeout", "1s",
          "pgamqp.bridge.batch-size", "100",
          "pgamqp.bridge.amqp-heartbeat", "10s"));
      try {
        rig.commit(500, 100);
        rig.awaitAll(Duration.ofSeconds(30));
        long t0 = System.nanoTime();
        proxy.block("low on memory (simulated)");
        assertNotNull(logs.await("RabbitMQ blocked publishing: low on memory (simulated); waiting", t0, 5_000),
            "the bridge logs the block");
        int before = rig.arrivedCount();
        rig.commit(1_000, 100);
        Thread.sleep(5_000); // five confirm timeouts
        assertEquals(before, rig.arrivedCount(), "nothing passes a blocked connection");
        proxy.unblock();
        assertNotNull(logs.await("RabbitMQ unblocked publishing", t0, 5_000), "the bridge logs the unblock");
        Tally tally = rig.awaitAll(Duration.ofSeconds(30));
        System.out.println("flow control: blocked 5 s with confirm-timeout 1 s: " + tally);
        tally.assertNothingLostInOrder();
        assertEquals(0, tally.duplicates(), () -> "a blocked period caused retries: " + tally);
        assertEquals(0, logs.count("no publisher confirm within"), "no confirm timed out");
      } finally {
        bridge.close();
      }
    }
  }

  /** A connection through the flow-control proxy, an exchange and a queue. */
  private static final class Fixture implements AutoCloseable {
    final AmqpFlowControlProxy proxy;
    final AmqpTestClient amqp;
    final Connection connection;
    final String exchange;
    final String queue;

    Fixture() throws Exception {
      AmqpEndpoint broker = TestServers.get().amqp();
      proxy = new AmqpFlowControlProxy(broker.host(), broker.port());
      amqp = new AmqpTestClient();
      exchange = amqp.uniqueName("flow-x");
      queue = amqp.uniqueName("flow-q");
      amqp.declareExchange(exchange, "direct");
      amqp.declareQueue(queue);
      amqp.bind(queue, exchange, "k");
      ConnectionFactory cf = broker.withPort(proxy.port()).connectionFactory();
      cf.setAutomaticRecoveryEnabled(false);
      cf.setRequestedHeartbeat(30);
      connection = cf.newConnection("pgamqp-flow-control-test");
    }

    OutboxBatch batch(String prefix, int n) {
      List<OutboxRow> rows = new ArrayList<>();
      for (int i = 1; i <= n; i++) {
        rows.add(new OutboxRow(i, 1, OutboxRow.PUBLISH, exchange, "k", prefix + "-" + i, 1, null, null, null,
            prefix + "-" + i, System.currentTimeMillis(), 0));
      }
      return new OutboxBatch(rows);
    }

    @Override
    public void close() {
      proxy.close(); // first: a held close handshake would wait forever
      try {
        connection.abort(1_000);
      } finally {
        amqp.close();
      }
    }
  }
}
