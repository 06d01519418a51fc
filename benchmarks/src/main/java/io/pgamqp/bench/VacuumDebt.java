package io.pgamqp.bench;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.pgamqp.embedded.EmbeddedDatabase;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * No vacuum debt: SQL publishers commit {@code rate} msg/s (10 per transaction) for {@code seconds} while the bridge
 * ({@code java -jar bridge/target/pgamqp.jar run}) drains them, with autovacuum off for the outbox or on; from
 * {@code holdFrom} for {@code holdSeconds} a REPEATABLE READ transaction (reading another table) holds the xmin
 * horizon, so that not even VACUUM could free a settled row. Sampled every 500 ms: the lag (amqp.status's oldest
 * pending age) and the outbox's size on disk (heap, TOAST, index), until {@code afterSeconds} after the hold ended.
 */
final class VacuumDebt {
  /** {@code server}: which PostgreSQL ran it and how its autovacuum was set. */
  record Result(double rate, int seconds, int holdSeconds, long messages, double maxLagSeconds, long maxBytes,
      long bytesAfterHold, long lost, String server) {}

  private VacuumDebt() {}

  /**
   * With {@code autovacuum} false on the given server, autovacuum off for the outbox; with it true on a private
   * server of this jar's embedded PostgreSQL with autovacuum on at its defaults (and fsync on, as a real server), since
   * the shared server's autovacuum setting is not ours to change.
   */
  static Result run(String pgAdminUrl, String user, String amqpHost, int amqpPort, int bodyBytes, double rate,
      int seconds, int holdFrom, int holdSeconds, int afterSeconds, boolean autovacuum,
      Map<String, Object> bridgeSettings) throws Exception {
    if (!autovacuum) {
      return run(pgAdminUrl, user, amqpHost, amqpPort, bodyBytes, rate, seconds, holdFrom, holdSeconds, afterSeconds,
          false, bridgeSettings, "autovacuum off for the outbox");
    }
    try (EmbeddedDatabase pg = EmbeddedDatabase.builder().serverConfig("autovacuum", "on")
        .serverConfig("fsync", "on").start()) {
      String version;
      try (java.sql.Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"), pg.user(), "");
          Statement st = c.createStatement(); ResultSet rs = st.executeQuery("show server_version")) {
        rs.next();
        version = rs.getString(1);
      }
      return run(pg.jdbcUrl("postgres"), pg.user(), amqpHost, amqpPort, bodyBytes, rate, seconds, holdFrom,
          holdSeconds, afterSeconds, true, bridgeSettings,
          "autovacuum on (defaults), a private PostgreSQL " + version);
    }
  }

  private static Result run(String pgAdminUrl, String user, String amqpHost, int amqpPort, int bodyBytes,
      double rate, int seconds, int holdFrom, int holdSeconds, int afterSeconds, boolean autovacuum,
      Map<String, Object> bridgeSettings, String server) throws Exception {
    String db = "pgamqp_bench_vac_" + Long.toHexString(System.nanoTime());
    String url = Databases.create(pgAdminUrl, user, db);
    String exchange = "pgamqp.bench." + db;
    String queue = exchange + ".q";
    ConnectionFactory cf = new ConnectionFactory();
    cf.setHost(amqpHost);
    cf.setPort(amqpPort);
    try (Connection amqp = cf.newConnection("pgamqp bench vacuum debt")) {
      Databases.exec(url, user, "insert into amqp.broker(host, port, username, password) values ('" + amqpHost + "', "
          + amqpPort + ", 'guest', 'guest')");
      if (!autovacuum) {
        Databases.exec(url, user,
            "alter table amqp.outbox set (autovacuum_enabled = false, toast.autovacuum_enabled = false)");
      }
      try (Channel ch = amqp.createChannel()) {
        ch.exchangeDeclare(exchange, "direct", false, false, null);
        ch.queueDeclare(queue, false, false, false, null);
        ch.queueBind(queue, exchange, "k");
      }
      try (ServiceBridge bridge = ServiceBridge.start(url, user, bridgeSettings);
          DrainConsumer consumer = DrainConsumer.start(amqp, queue, true)) {
        int publishers = 4;
        int perTx = 10;
        long periodNanos = (long) (1e9 * perTx * publishers / rate);
        long start = System.nanoTime();
        long end = start + seconds * 1_000_000_000L;
        AtomicLong committed = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < publishers; p++) {
          long offset = periodNanos * p / publishers;
          Thread t = new Thread(() -> {
            try (java.sql.Connection c = DriverManager.getConnection(url, user, "");
                Statement st = c.createStatement()) {
              String sql = "select count(amqp.publish(1, '" + exchange + "', 'k', repeat('x', " + bodyBytes
                  + "), 2)) from generate_series(1, " + perTx + ")";
              for (long next = start + offset; next < end; next += periodNanos) {
                long wait = next - System.nanoTime();
                if (wait > 0) {
                  Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
                st.execute(sql);
                committed.addAndGet(perTx);
              }
            } catch (Exception e) {
              throw new IllegalStateException(e);
            }
          }, "vacuum-debt-publisher-" + p);
          t.start();
          threads.add(t);
        }
        double maxLag = 0;
        long maxBytes = 0;
        long afterHold = -1;
        long holdStart = start + holdFrom * 1_000_000_000L;
        long holdEnd = holdStart + holdSeconds * 1_000_000_000L;
        long sampleUntil = Math.max(end, holdEnd + afterSeconds * 1_000_000_000L) + 1_000_000_000L;
        java.sql.Connection holder = DriverManager.getConnection(url, user, "");
        boolean holding = false;
        try (java.sql.Connection probe = DriverManager.getConnection(url, user, "");
            Statement st = probe.createStatement()) {
          while (System.nanoTime() < sampleUntil) {
            long now = System.nanoTime();
            if (!holding && now >= holdStart && now < holdEnd) {
              holder.setAutoCommit(false);
              try (Statement h = holder.createStatement()) {
                h.execute("set transaction isolation level repeatable read");
                h.execute("select count(*) from amqp.broker");
              }
              holding = true;
              System.out.printf("  vacuum debt: REPEATABLE READ transaction holds the xmin horizon for %d s%n",
                  holdSeconds);
            } else if (holding && now >= holdEnd) {
              holder.commit();
              holding = false;
            }
            try (ResultSet rs = st.executeQuery("select coalesce(extract(epoch from max(oldest_pending_age)), 0),"
                + " pg_total_relation_size('amqp.outbox') from amqp.status")) {
              rs.next();
              maxLag = Math.max(maxLag, rs.getDouble(1));
              maxBytes = Math.max(maxBytes, rs.getLong(2));
              if (now >= holdEnd + afterSeconds * 1_000_000_000L && afterHold < 0) {
                afterHold = rs.getLong(2);
              }
            }
            Thread.sleep(500);
          }
        } finally {
          holder.close();
        }
        for (Thread t : threads) {
          t.join();
        }
        consumer.await(committed.get(), java.time.Duration.ofSeconds(60));
        return new Result(rate, seconds, holdSeconds, committed.get(), maxLag, maxBytes, afterHold,
            committed.get() - consumer.received(), server);
      }
    } finally {
      Databases.drop(pgAdminUrl, user, db);
    }
  }

}
