package io.pgamqp.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.pgamqp.outbox.OwnershipLock;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What every cluster test starts from: a fresh database with {@code amqp} installed and {@code brokers} rows of
 * amqp.broker, all pointing at the machine's broker but each publishing to its own exchange and queue; a consumer
 * recording every arrival (body, broker, time); one SQL publisher per broker committing continuously.
 *
 * <p>Bodies are {@code b<broker>-<sequence>}: {@link Tally} treats {@code b<broker>} as one publisher, so its order check
 * is per broker, and a broker drained by two nodes at once would show up as duplicates and order violations.
 */
final class ClusterRig implements Tally.Rig, AutoCloseable {
  static final String KEY = "k";

  /** One message seen by the consumer. */
  record Arrival(int brokerId, String body, long nanos) {}

  final TestDatabase db;
  final List<Integer> brokerIds = new ArrayList<>();
  private final AmqpTestClient amqp;
  private final Map<Integer, String> exchanges = new HashMap<>();
  private final Connection consumer;
  private final List<Arrival> arrivals = new ArrayList<>();
  private final ConcurrentLinkedQueue<String> committed = new ConcurrentLinkedQueue<>();
  private final List<Thread> publishers = new ArrayList<>();
  private final List<Throwable> publisherErrors = new ArrayList<>();
  private final AtomicBoolean stop = new AtomicBoolean();

  private ClusterRig(TestDatabase db, AmqpTestClient amqp, Connection consumer) {
    this.db = db;
    this.amqp = amqp;
    this.consumer = consumer;
  }

  static ClusterRig create(String prefix, int brokers) throws Exception {
    TestDatabase db = TestServers.get().createDatabase(prefix);
    AmqpTestClient amqp = new AmqpTestClient();
    Connection consumer = TestServers.get().amqp().connectionFactory().newConnection("pgamqp-cluster-consumer");
    ClusterRig rig = new ClusterRig(db, amqp, consumer);
    try {
      for (int i = 0; i < brokers; i++) {
        int brokerId = db.insertBroker();
        String exchange = amqp.uniqueName(prefix + "-x" + brokerId);
        String queue = amqp.uniqueName(prefix + "-q" + brokerId);
        amqp.declareExchange(exchange, "direct");
        amqp.declareQueue(queue);
        amqp.bind(queue, exchange, KEY);
        rig.brokerIds.add(brokerId);
        rig.exchanges.put(brokerId, exchange);
        Channel ch = consumer.createChannel();
        ch.basicConsume(queue, true, (tag, d) -> {
          Arrival a = new Arrival(brokerId, new String(d.getBody(), StandardCharsets.UTF_8), System.nanoTime());
          synchronized (rig.arrivals) {
            rig.arrivals.add(a);
          }
        }, tag -> { });
      }
      return rig;
    } catch (Exception | Error e) {
      rig.close();
      throw e;
    }
  }

  /** One publisher per broker: transactions of {@code perTx} messages, {@code pauseMillis} apart, until stopped. */
  void startPublishers(int perTx, long pauseMillis) {
    for (int brokerId : brokerIds) {
      Thread t = new Thread(() -> {
        try (java.sql.Connection c = db.connect()) {
          c.setAutoCommit(false);
          for (int seq = 0; !stop.get(); ) {
            List<String> tx = new ArrayList<>(perTx);
            for (int i = 0; i < perTx; i++, seq++) {
              tx.add("b" + brokerId + "-" + seq);
            }
            publish(c, brokerId, tx);
            c.commit();
            committed.addAll(tx);
            Thread.sleep(pauseMillis);
          }
        } catch (Throwable e) {
          synchronized (publisherErrors) {
            publisherErrors.add(e);
          }
        }
      }, "cluster-publisher-" + brokerId);
      t.setDaemon(true);
      publishers.add(t);
      t.start();
    }
  }

  /** Stops the publishers; fails if one failed. */
  void stopPublishers() throws InterruptedException {
    stop.set(true);
    for (Thread t : publishers) {
      t.join(30_000);
    }
    synchronized (publisherErrors) {
      if (!publisherErrors.isEmpty()) {
        throw new AssertionError("a publisher failed", publisherErrors.get(0));
      }
    }
  }

  private void publish(java.sql.Connection c, int brokerId, List<String> bodies) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "select count(amqp.publish(?::int, ?, ?, t.body)) from unnest(?::text[]) as t(body)")) {
      ps.setInt(1, brokerId);
      ps.setString(2, exchanges.get(brokerId));
      ps.setString(3, KEY);
      ps.setArray(4, c.createArrayOf("text", bodies.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        assertEquals(bodies.size(), rs.getLong(1));
      }
    }
  }

  int committedCount() {
    return committed.size();
  }

  /** Arrivals so far of {@code brokerId}'s messages. */
  int arrivedCount(int brokerId) {
    synchronized (arrivals) {
      return (int) arrivals.stream().filter(a -> a.brokerId() == brokerId).count();
    }
  }

  /**
   * The longest time {@code brokerId}'s consumer went without a message, from {@code sinceNanos} (a fault) to its
   * last arrival: what a consumer of that broker sees of a fail-over while publishers keep committing.
   */
  double longestSilenceSeconds(int brokerId, long sinceNanos) {
    long previous = sinceNanos;
    long longest = 0;
    synchronized (arrivals) {
      for (Arrival a : arrivals) {
        if (a.brokerId() == brokerId && a.nanos() >= sinceNanos) {
          longest = Math.max(longest, a.nanos() - previous);
          previous = a.nanos();
        }
      }
    }
    return longest / 1e9;
  }

  /** broker_id -> owner ('host:pid') as the bridges report it in amqp.status (null: nobody owns it now). */
  Map<Integer, String> owners() throws SQLException {
    Map<Integer, String> owners = new TreeMap<>();
    try (java.sql.Connection c = db.connect(); ResultSet rs = c.createStatement().executeQuery(
        "select broker_id, owner, connected_to is not null from amqp.status")) {
      while (rs.next()) {
        owners.put(rs.getInt(1), rs.getBoolean(3) ? rs.getString(2) : null);
      }
    }
    return owners;
  }

  /** The brokers whose connected owner is the process {@code pid}. */
  Set<Integer> ownedBy(long pid) throws SQLException {
    Set<Integer> owned = new HashSet<>();
    owners().forEach((broker, owner) -> {
      if (owner != null && owner.endsWith(":" + pid)) {
        owned.add(broker);
      }
    });
    return owned;
  }

  /** Sessions holding each broker's ownership lock right now, from pg_locks. */
  Map<Integer, Integer> lockHolderCounts() throws SQLException {
    Map<Integer, Integer> counts = new TreeMap<>();
    brokerIds.forEach(b -> counts.put(b, 0));
    try (java.sql.Connection c = db.connect(); ResultSet rs = c.createStatement().executeQuery(
        "select l.objid::int, count(*) from pg_catalog.pg_locks l where l.locktype = 'advisory'"
            + " and l.classid = " + OwnershipLock.LOCK_CLASS + " and l.objsubid = 2 and l.granted"
            + " and l.database = (select oid from pg_catalog.pg_database where datname = current_database())"
            + " group by 1")) {
      while (rs.next()) {
        counts.put(rs.getInt(1), rs.getInt(2));
      }
    }
    return counts;
  }

  @Override
  public long outboxRows() throws SQLException {
    return db.queryLong("select count(*) from amqp.outbox");
  }

  /** See {@link Tally#awaitAll}. */
  Tally awaitAll(Duration timeout) throws Exception {
    return Tally.awaitAll(this, timeout);
  }

  @Override
  public Tally tally() throws SQLException {
    List<String> got;
    synchronized (arrivals) {
      got = arrivals.stream().map(Arrival::body).toList();
    }
    return Tally.of(List.copyOf(committed), got, Tally.deadLettered(db));
  }

  @Override
  public void close() throws Exception {
    stop.set(true);
    for (Thread t : publishers) {
      t.join(10_000);
    }
    try {
      consumer.close();
    } catch (Exception ignored) {
      // already closed by the broker
    }
    try {
      amqp.close();
    } finally {
      db.close();
    }
  }
}
