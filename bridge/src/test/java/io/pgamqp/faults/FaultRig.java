package io.pgamqp.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.pgamqp.testkit.AmqpEndpoint;
import io.pgamqp.testkit.AmqpTestClient;
import io.pgamqp.testkit.Tally;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.nio.charset.StandardCharsets;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What every fault test starts from: a fresh database with {@code amqp} installed, a broker row pointing wherever the
 * test says (usually a {@link TcpProxy}), a direct exchange and a queue bound to it, and a consumer that records every
 * body arriving at that queue (over its own direct connection, never through a proxy). Publishers commit through
 * {@code amqp.publish} directly to PostgreSQL (never through a proxy), so "committed" is known exactly.
 *
 * <p>Bodies are {@code p<publisher>-<sequence>}: the sequence grows with commit order per publisher, which is what the
 * per-broker order check uses (concurrent transactions may commit out of id order; one publisher's may not).
 */
final class FaultRig implements Tally.Rig, AutoCloseable {
  static final String KEY = "k";

  final TestDatabase db;
  final AmqpTestClient amqp;
  final int brokerId;
  final String exchange;
  final String queue;
  private final Connection consumerConnection;
  private final List<String> arrivals = new ArrayList<>();
  private final ConcurrentLinkedQueue<String> committed = new ConcurrentLinkedQueue<>();
  private final List<Thread> publisherThreads = new ArrayList<>();
  private final AtomicBoolean stopPublishing = new AtomicBoolean();
  private final AtomicInteger publisherIds = new AtomicInteger();
  private final List<Throwable> publisherErrors = new ArrayList<>();
  /** Appended to every body from now on (starts with '.'), to make messages bigger. */
  private volatile String padding = "";
  /** Where publishers connect; null: the test database directly. */
  private volatile String publisherUrl;

  private FaultRig(TestDatabase db, AmqpTestClient amqp, int brokerId, String exchange, String queue,
      Connection consumerConnection) {
    this.db = db;
    this.amqp = amqp;
    this.brokerId = brokerId;
    this.exchange = exchange;
    this.queue = queue;
    this.consumerConnection = consumerConnection;
  }

  /** A database, a broker row for {@code brokerRow}, an exchange and queue, and the consumer already running. */
  static FaultRig create(String prefix, AmqpEndpoint brokerRow) throws Exception {
    TestDatabase db = TestServers.get().createDatabase(prefix);
    AmqpTestClient amqp = null;
    try {
      amqp = new AmqpTestClient();
      String exchange = amqp.uniqueName(prefix + "-x");
      String queue = amqp.uniqueName(prefix + "-q");
      amqp.declareExchange(exchange, "direct");
      amqp.declareQueue(queue);
      amqp.bind(queue, exchange, KEY);
      int brokerId = db.insertBroker(brokerRow);
      Connection consumer = TestServers.get().amqp().connectionFactory().newConnection("pgamqp-fault-consumer");
      FaultRig rig = new FaultRig(db, amqp, brokerId, exchange, queue, consumer);
      Channel ch = consumer.createChannel();
      ch.basicConsume(queue, true, (tag, d) -> {
        String body = new String(d.getBody(), StandardCharsets.UTF_8);
        synchronized (rig.arrivals) {
          rig.arrivals.add(body);
        }
      }, tag -> { });
      return rig;
    } catch (Exception | Error e) {
      if (amqp != null) {
        amqp.close();
      }
      db.close();
      throw e;
    }
  }

  /** Commits {@code count} messages in transactions of {@code perTx} from one new publisher; returns its bodies. */
  List<String> commit(int count, int perTx) throws SQLException {
    int p = publisherIds.incrementAndGet();
    List<String> all = new ArrayList<>(count);
    try (java.sql.Connection c = publisherConnection()) {
      c.setAutoCommit(false);
      for (int seq = 0; seq < count; ) {
        List<String> tx = new ArrayList<>(perTx);
        for (int i = 0; i < perTx && seq < count; i++, seq++) {
          tx.add("p" + p + "-" + seq + padding);
        }
        publish(c, tx);
        c.commit();
        committed.addAll(tx);
        all.addAll(tx);
      }
    }
    return all;
  }

  /**
   * Starts {@code threads} publishers, each committing transactions of {@code perTx} messages, pausing
   * {@code pauseMillis} between transactions, until {@code perThread} messages each or {@link #stopPublishers()}.
   */
  void startPublishers(int threads, int perThread, int perTx, long pauseMillis) {
    for (int t = 0; t < threads; t++) {
      int p = publisherIds.incrementAndGet();
      Thread th = new Thread(() -> {
        try (java.sql.Connection c = publisherConnection()) {
          c.setAutoCommit(false);
          for (int seq = 0; seq < perThread && !stopPublishing.get(); ) {
            List<String> tx = new ArrayList<>(perTx);
            for (int i = 0; i < perTx && seq < perThread; i++, seq++) {
              tx.add("p" + p + "-" + seq + padding);
            }
            publish(c, tx);
            c.commit();
            committed.addAll(tx);
            if (pauseMillis > 0) {
              Thread.sleep(pauseMillis);
            }
          }
        } catch (Throwable e) {
          synchronized (publisherErrors) {
            publisherErrors.add(e);
          }
        }
      }, "fault-publisher-" + p);
      th.setDaemon(true);
      publisherThreads.add(th);
      th.start();
    }
  }

  /** Asks the publishers to stop and waits for them (bounded). */
  void stopPublishers() throws InterruptedException {
    stopPublishing.set(true);
    awaitPublishers(Duration.ofSeconds(30));
  }

  /** Waits for the publishers to finish on their own; fails if one failed. */
  void awaitPublishers(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (Thread t : publisherThreads) {
      t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
      if (t.isAlive()) {
        fail("publisher " + t.getName() + " did not finish within " + timeout);
      }
    }
    synchronized (publisherErrors) {
      if (!publisherErrors.isEmpty()) {
        throw new AssertionError("a publisher failed", publisherErrors.get(0));
      }
    }
  }

  /** Publishers started from now on connect to {@code jdbcUrl} (e.g. through PgBouncer) as the test user. */
  void publishThrough(String jdbcUrl) {
    publisherUrl = jdbcUrl;
  }

  private java.sql.Connection publisherConnection() throws SQLException {
    String url = publisherUrl;
    return url == null ? db.connect()
        : java.sql.DriverManager.getConnection(url, TestServers.get().dbUser(), TestServers.get().dbPassword());
  }

  /** Bodies committed from now on are padded to about {@code bytes}. */
  void padBodies(int bytes) {
    padding = bytes <= 0 ? "" : "." + "x".repeat(bytes);
  }

  int committedCount() {
    return committed.size();
  }

  int arrivedCount() {
    synchronized (arrivals) {
      return arrivals.size();
    }
  }

  /** Bodies that arrived more than once. */
  List<String> duplicateBodies() {
    Set<String> seen = new HashSet<>();
    Set<String> dups = new java.util.LinkedHashSet<>();
    synchronized (arrivals) {
      for (String b : arrivals) {
        if (!seen.add(b)) {
          dups.add(b);
        }
      }
    }
    return new ArrayList<>(dups);
  }

  @Override
  public long outboxRows() throws SQLException {
    return db.queryLong("select count(*) from amqp.outbox");
  }

  Set<Long> outboxIds() throws SQLException {
    Set<Long> ids = new HashSet<>();
    try (java.sql.Connection c = db.connect(); ResultSet rs =
        c.createStatement().executeQuery("select id from amqp.outbox")) {
      while (rs.next()) {
        ids.add(rs.getLong(1));
      }
    }
    return ids;
  }

  /** See {@link Tally#awaitAll}. */
  Tally awaitAll(Duration timeout) throws Exception {
    return Tally.awaitAll(this, timeout);
  }

  /** What arrived compared with what was committed. */
  @Override
  public Tally tally() throws SQLException {
    List<String> got;
    synchronized (arrivals) {
      got = new ArrayList<>(arrivals);
    }
    return Tally.of(List.copyOf(committed), got, Tally.deadLettered(db));
  }

  private void publish(java.sql.Connection c, List<String> bodies) throws SQLException {
    publish(c, brokerId, exchange, bodies);
  }

  /** Publishes {@code bodies} with routing key {@link #KEY} in {@code c}'s current transaction, one statement. */
  static void publish(java.sql.Connection c, int brokerId, String exchange, List<String> bodies) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "select count(amqp.publish(?::int, ?, ?, t.body)) from unnest(?::text[]) as t(body)")) {
      ps.setInt(1, brokerId);
      ps.setString(2, exchange);
      ps.setString(3, KEY);
      ps.setArray(4, c.createArrayOf("text", bodies.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        assertEquals(bodies.size(), rs.getLong(1));
      }
    }
  }

  @Override
  public void close() throws Exception {
    stopPublishing.set(true);
    for (Thread t : publisherThreads) {
      t.join(10_000);
    }
    try {
      consumerConnection.close();
    } catch (Exception ignored) {
      // the broker went away; nothing to release
    }
    try {
      amqp.close();
    } finally {
      db.close();
    }
  }
}
