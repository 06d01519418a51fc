package io.pgamqp.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.rabbitmq.client.Channel;
import com.typesafe.config.ConfigFactory;
import io.pgamqp.Bridge;
import io.pgamqp.embedded.EmbeddedDatabase;
import io.pgamqp.testkit.AmqpEndpoint;
import io.pgamqp.testkit.AmqpTestClient;
import io.pgamqp.testkit.BridgeProcess;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.OwnerGauges;
import io.pgamqp.testkit.Tally;
import io.pgamqp.testkit.TestServers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The bridge's database restarted for real: a private PostgreSQL ({@link EmbeddedDatabase#builder()}, synchronous
 * commit on) gets {@code pg_ctl restart -m immediate} twice while the bridge drains a backlog and publishers keep
 * committing. Two bridges: one in this JVM (its log is watched) and one in a JVM of its own. Shows: every committed
 * message arrives (a commit whose reply the restart cut may or may not have happened: those may arrive), the lock and
 * LISTEN are re-established after each restart, the owner gauges never show two owners, and each outage is logged
 * once when it starts and once when it ends, not at every retry. Needs an AMQP broker.
 */
@Tag("faults")
@Timeout(300)
class DatabaseRestartTest {
  private static final String OWNS = KillNineTest.OWNS;
  private static final int BACKLOG = 20_000;

  @Test
  void twoImmediateRestartsMidDrainLoseNothingCommitted() throws Exception {
    try (EmbeddedDatabase pg = EmbeddedDatabase.builder().serverConfig("synchronous_commit", "on").start();
        AmqpTestClient amqp = new AmqpTestClient();
        LogWatch logs = new LogWatch()) {
      String url = pg.jdbcUrl("restart");
      try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"), pg.user(), "");
          Statement st = c.createStatement()) {
        st.execute("create database restart");
      }
      String exchange = amqp.uniqueName("restart-x");
      String queue = amqp.uniqueName("restart-q");
      amqp.declareExchange(exchange, "direct");
      amqp.declareQueue(queue);
      amqp.bind(queue, exchange, FaultRig.KEY);
      int brokerId;
      try (Connection c = DriverManager.getConnection(url, pg.user(), ""); Statement st = c.createStatement()) {
        st.execute(Files.readString(TestServers.installSqlPath(), StandardCharsets.UTF_8));
        AmqpEndpoint e = TestServers.get().amqp();
        try (ResultSet rs = st.executeQuery("insert into amqp.broker (host, port, vhost, username, password) values ('"
            + e.host() + "', " + e.port() + ", '" + e.vhost() + "', '" + e.username() + "', '" + e.password()
            + "') returning broker_id")) {
          rs.next();
          brokerId = rs.getInt(1);
        }
      }
      Publishers publishers = new Publishers(url, pg.user(), brokerId, exchange);
      List<String> arrivals = new ArrayList<>();
      com.rabbitmq.client.Connection consumer =
          TestServers.get().amqp().connectionFactory().newConnection("pgamqp-restart-consumer");
      Channel ch = consumer.createChannel();
      ch.basicConsume(queue, true, (tag, d) -> {
        synchronized (arrivals) {
          arrivals.add(new String(d.getBody(), StandardCharsets.UTF_8));
        }
      }, tag -> { });

      publishers.commitBacklog(BACKLOG, 1_000);
      // A long fallback poll: a message published after the restarts arriving at once shows LISTEN is back.
      Map<String, String> settings = Map.of("pgamqp.bridge.fallback-poll", "60s", "pgamqp.bridge.wakeup-lease", "180s");
      int processPort = OwnerGauges.freePort();
      Map<String, Object> inProcess = new HashMap<>(BridgeRunner.TEST_SETTINGS);
      inProcess.putAll(settings);
      inProcess.put("pgamqp.db.url", url);
      inProcess.put("pgamqp.db.user", pg.user());
      inProcess.put("pgamqp.db.password", "");
      Map<String, String> processSettings = new HashMap<>(settings);
      processSettings.put("pgamqp.http.port", Integer.toString(processPort));
      try (BridgeProcess other = BridgeProcess.start(url, pg.user(), "", "restart-other", processSettings, Map.of());
          Bridge bridge = Bridge.start(ConfigFactory.parseMap(inProcess).withFallback(ConfigFactory.load())
              .resolve());
          OwnerGauges gauges = OwnerGauges.start(List.of(bridge.httpPort(), processPort), brokerId)) {
        Eventually.until("both bridges are up, one owning the broker", Duration.ofSeconds(60),
            () -> (logs.first(OWNS, 0) != null || other.log().contains(OWNS))
                && (other.log().contains(OWNS) || other.log().contains("standing by to take over")));
        publishers.start(2, 10, 20);

        long[] restartedAt = new long[2];
        for (int i = 0; i < 2; i++) {
          int arrived = count(arrivals);
          try {
            Eventually.until("the drain moved on before restart " + (i + 1), Duration.ofSeconds(60),
                () -> count(arrivals) > arrived + 2_000);
          } catch (AssertionError stalled) {
            // Seen once (no restart yet, nothing logged): leave what is needed to find out why.
            System.out.println("drain stalled; the other bridge's log:\n" + other.log() + "\nthreads of this JVM:");
            Thread.getAllStackTraces().forEach((t, stack) -> System.out.println(t + "\n  at "
                + String.join("\n  at ", java.util.Arrays.stream(stack).map(String::valueOf).toList())));
            throw stalled;
          }
          int ownsBefore = ownerLines(logs, other);
          // Before the call: it returns once the server is back, and the bridge may have re-listened by then.
          restartedAt[i] = System.nanoTime();
          pg.restartImmediately();
          Eventually.until("a bridge owns the broker again after restart " + (i + 1), Duration.ofSeconds(60),
              () -> ownerLines(logs, other) > ownsBefore);
          LogWatch.Line listen = logs.await("LISTEN re-established", restartedAt[i], 30_000);
          assertNotNull(listen, "LISTEN was not re-established after restart " + (i + 1));
        }
        publishers.stop();
        Tally tally = awaitAll(publishers, arrivals, url, pg.user());

        // LISTEN works: with the outbox dry and the bridge asleep, a new message arrives long before the
        // 60 s fallback poll.
        Thread.sleep(1_000);
        int before = count(arrivals);
        long sent = System.nanoTime();
        publishers.commitOne("after-restarts");
        Eventually.until("the message published after the restarts arrived", Duration.ofSeconds(15),
            () -> count(arrivals) > before);
        double wake = (System.nanoTime() - sent) / 1e9;

        gauges.close();
        int outageLines = logs.count("cannot reach the database to take ownership");
        int listenLost = logs.count("LISTEN connection to the database failed");
        System.out.printf("database restarts: %s; %d publisher commits cut by a restart; %s; woken %.2f s after"
            + " publishing; in-process bridge logged %d lock outage(s), %d LISTEN outage(s), %d retry line(s)%n",
            tally, publishers.ambiguousCommits(), gauges, wake, outageLines, listenLost,
            logs.count("retrying in"));
        tally.assertNothingLostInOrder();
        assertEquals(0, gauges.twoOwners(), "samples with two owners: " + gauges);
        assertTrue(outageLines <= 2, "the lock outage is logged once per restart, not per retry: " + outageLines);
        assertEquals(2, listenLost, "one LISTEN outage line per restart");
        assertEquals(2, logs.count("LISTEN re-established"), "one LISTEN recovery line per restart");
        assertTrue(other.count("cannot reach the database to take ownership") <= 2, other::log);
        assertTrue(other.count("LISTEN connection to the database failed") == 2, other::log);
      } finally {
        publishers.stop();
        consumer.abort();
      }
    }
  }

  private static int ownerLines(LogWatch logs, BridgeProcess other) {
    return logs.count(OWNS) + other.count(OWNS);
  }

  private static int count(List<String> arrivals) {
    synchronized (arrivals) {
      return arrivals.size();
    }
  }

  private static Tally awaitAll(Publishers publishers, List<String> arrivals, String url, String user)
      throws Exception {
    Tally.Rig rig = new Tally.Rig() {
      @Override
      public Tally tally() throws SQLException {
        List<String> got;
        synchronized (arrivals) {
          got = new ArrayList<>(arrivals);
        }
        // A commit the restart cut may have happened: if it did, its messages count as committed.
        List<String> expected = new ArrayList<>(publishers.committed);
        Set<String> arrived = new HashSet<>(got);
        for (String b : publishers.ambiguous) {
          if (arrived.contains(b)) {
            expected.add(b);
          }
        }
        return Tally.of(expected, got, Set.of());
      }

      @Override
      public long outboxRows() throws SQLException {
        try (Connection c = DriverManager.getConnection(url, user, ""); Statement st = c.createStatement();
            ResultSet rs = st.executeQuery("select count(*) from amqp.outbox")) {
          rs.next();
          return rs.getLong(1);
        }
      }
    };
    return Tally.awaitAll(rig, Duration.ofSeconds(120));
  }

  /**
   * Publishers that keep going through a restart: a transaction that fails before its commit was sent is rolled back
   * (its bodies are dropped); one whose commit the restart cut is ambiguous (its bodies may or may not arrive).
   * Bodies are {@code p<publisher>-<sequence>}, the sequence growing with commit order per publisher.
   */
  private static final class Publishers {
    private final String url;
    private final String user;
    private final int brokerId;
    private final String exchange;
    final ConcurrentLinkedQueue<String> committed = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<String> ambiguous = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final List<Thread> threads = new ArrayList<>();
    private volatile int ambiguousCommits;
    private int next;

    Publishers(String url, String user, int brokerId, String exchange) {
      this.url = url;
      this.user = user;
      this.brokerId = brokerId;
      this.exchange = exchange;
    }

    void commitBacklog(int count, int perTx) throws SQLException {
      int p = ++next;
      try (Connection c = DriverManager.getConnection(url, user, "")) {
        c.setAutoCommit(false);
        for (int seq = 0; seq < count; ) {
          List<String> tx = new ArrayList<>();
          for (int i = 0; i < perTx && seq < count; i++, seq++) {
            tx.add("p" + p + "-" + seq);
          }
          publish(c, tx);
          c.commit();
          committed.addAll(tx);
        }
      }
    }

    void commitOne(String body) throws SQLException {
      int p = ++next;
      try (Connection c = DriverManager.getConnection(url, user, "")) {
        c.setAutoCommit(false);
        publish(c, List.of("p" + p + "-0." + body));
        c.commit();
        committed.add("p" + p + "-0." + body);
      }
    }

    void start(int count, int perTx, long pauseMillis) {
      for (int t = 0; t < count; t++) {
        int p = ++next;
        Thread th = new Thread(() -> run(p, perTx, pauseMillis), "restart-publisher-" + p);
        th.setDaemon(true);
        threads.add(th);
        th.start();
      }
    }

    private void run(int p, int perTx, long pauseMillis) {
      int seq = 0;
      Connection c = null;
      while (!stop.get()) {
        List<String> tx = new ArrayList<>();
        for (int i = 0; i < perTx; i++) {
          tx.add("p" + p + "-" + seq++);
        }
        boolean commitSent = false;
        try {
          if (c == null) {
            c = DriverManager.getConnection(url, user, "");
            c.setAutoCommit(false);
          }
          publish(c, tx);
          commitSent = true;
          c.commit();
          committed.addAll(tx);
          Thread.sleep(pauseMillis);
        } catch (SQLException e) {
          if (commitSent) {
            ambiguous.addAll(tx);
            ambiguousCommits++;
          }
          close(c);
          c = null;
          sleep(100); // the server is restarting
        } catch (InterruptedException e) {
          break;
        }
      }
      close(c);
    }

    void stop() throws InterruptedException {
      stop.set(true);
      for (Thread t : threads) {
        t.join(30_000);
      }
    }

    int ambiguousCommits() {
      return ambiguousCommits;
    }

    private void publish(Connection c, List<String> bodies) throws SQLException {
      FaultRig.publish(c, brokerId, exchange, bodies);
    }

    private static void close(Connection c) {
      if (c != null) {
        try {
          c.close();
        } catch (SQLException ignored) {
          // already broken
        }
      }
    }

    private static void sleep(long millis) {
      try {
        Thread.sleep(millis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
