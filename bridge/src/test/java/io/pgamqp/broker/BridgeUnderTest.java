package io.pgamqp.broker;

import io.pgamqp.Bridge;
import io.pgamqp.testkit.AmqpEndpoint;
import io.pgamqp.testkit.AmqpTestClient;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;

/**
 * What every end-to-end test starts from: a fresh database with {@code amqp} installed and one broker row, the test's
 * own AMQP client, and (when started) an in-process bridge. Closing it stops the bridge gracefully, deletes what the
 * client declared and drops the database.
 *
 * <p>Threading: for the test's thread.
 */
final class BridgeUnderTest implements AutoCloseable {
  final TestDatabase db;
  final AmqpTestClient amqp;
  final int brokerId;
  private Bridge bridge;

  private BridgeUnderTest(TestDatabase db, AmqpTestClient amqp, int brokerId) {
    this.db = db;
    this.amqp = amqp;
    this.brokerId = brokerId;
  }

  /** Database, client and a broker row for the test broker; no bridge yet. */
  static BridgeUnderTest prepare(String prefix) throws SQLException {
    return prepare(prefix, TestServers.get().amqp());
  }

  /** Like {@link #prepare(String)}, with the broker row pointing at {@code endpoint} (e.g. a proxy). */
  static BridgeUnderTest prepare(String prefix, AmqpEndpoint endpoint) throws SQLException {
    TestDatabase db = TestServers.get().createDatabase(prefix);
    try {
      AmqpTestClient amqp = new AmqpTestClient();
      return new BridgeUnderTest(db, amqp, db.insertBroker(endpoint));
    } catch (SQLException | RuntimeException e) {
      db.close();
      throw e;
    }
  }

  /** {@link #prepare(String)} and an in-process bridge with the test defaults. */
  static BridgeUnderTest start(String prefix) throws SQLException {
    return start(prefix, Map.of());
  }

  /** {@link #prepare(String)} and an in-process bridge with {@code overrides} (HOCON keys). */
  static BridgeUnderTest start(String prefix, Map<String, Object> overrides) throws SQLException {
    BridgeUnderTest t = prepare(prefix);
    t.startBridge(overrides);
    return t;
  }

  void startBridge(Map<String, Object> overrides) {
    if (bridge != null) {
      throw new IllegalStateException("a bridge is already running");
    }
    bridge = BridgeRunner.start(db, overrides);
  }

  /** The running bridge (for its operations port). */
  Bridge bridge() {
    return bridge;
  }

  /** Stops the bridge gracefully (in-flight confirms settle). */
  void stopBridge() {
    if (bridge != null) {
      bridge.close();
      bridge = null;
    }
  }

  long outboxRows() throws SQLException {
    return db.queryLong("select count(*) from amqp.outbox");
  }

  long deadLetters() throws SQLException {
    return db.queryLong("select count(*) from amqp.dead_letter");
  }

  /** Waits until the bridge has settled (deleted) every outbox row. */
  void awaitOutboxEmpty(Duration timeout) throws Exception {
    Eventually.until("amqp.outbox is empty", timeout, () -> outboxRows() == 0);
  }

  @Override
  public void close() {
    try {
      stopBridge();
    } finally {
      try {
        amqp.close();
      } finally {
        db.close();
      }
    }
  }
}
