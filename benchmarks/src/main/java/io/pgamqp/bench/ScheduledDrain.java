package io.pgamqp.bench;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

/**
 * Delayed messages must not slow the messages due now: the bridge as users run it ({@code java -jar … run}, warmed
 * up) drains a backlog due now twice without any delayed messages, then {@code scheduled} messages due next week are
 * published to the same broker, and it drains the same backlog twice more, in the same run. Also read: the outbox's
 * size before and after (vacuum debt the delayed messages would cause in the table that is claimed from) and the
 * dead rows of {@code amqp.scheduled} (none: they are inserted once and not touched until due). Consumer:
 * {@link DrainConsumer}, auto-ack, persistent messages, as in the memory row.
 */
final class ScheduledDrain {
  private static final Duration STALL = Duration.ofSeconds(60);

  /** Rates of the drains without and with the scheduled messages (two each), and what the tables looked like. */
  record Result(int messages, int scheduled, double[] without, double[] with, double fillSeconds,
      long outboxBytesWithout, long outboxBytesWith, long scheduledDeadRows, long scheduledBytes, Lateness lateness) {
    double bestWithout() {
      return Math.max(without[0], without[1]);
    }

    double bestWith() {
      return Math.max(with[0], with[1]);
    }
  }

  private ScheduledDrain() {}

  static Result run(String pgAdminUrl, String user, String amqpHost, int amqpPort, int messages, int scheduled,
      int bodyBytes, int warmupMessages, int latenessMessages, Map<String, Object> bridgeSettings) throws Exception {
    String db = "pgamqp_bench_sched_" + Long.toHexString(System.nanoTime());
    String url = Databases.create(pgAdminUrl, user, db);
    ConnectionFactory cf = new ConnectionFactory();
    cf.setHost(amqpHost);
    cf.setPort(amqpPort);
    try (Connection amqp = cf.newConnection("pgamqp bench scheduled")) {
      Databases.exec(url, user, "insert into amqp.broker(host, port, username, password) values ('" + amqpHost + "', "
          + amqpPort + ", 'guest', 'guest')");
      try (ServiceBridge bridge = ServiceBridge.start(url, user, bridgeSettings)) {
        System.out.printf("scheduled: warm-up, the bridge drains %,d messages ...%n", warmupMessages);
        drain(url, user, amqp, warmupMessages, bodyBytes, "warm");
        double[] without = new double[2];
        for (int i = 0; i < 2; i++) {
          without[i] = drain(url, user, amqp, messages, bodyBytes, "without" + i);
          System.out.printf("  scheduled: drain of %,d due now, no delayed messages: %,.0f msg/s%n", messages,
              without[i]);
        }
        long outboxWithout = size(url, user, "select pg_total_relation_size('amqp.outbox')");
        System.out.printf("scheduled: publishing %,d messages due next week ...%n", scheduled);
        long t0 = System.nanoTime();
        for (int done = 0; done < scheduled; ) {
          int n = Math.min(100_000, scheduled - done);
          Databases.exec(url, user, "select amqp.publish_many(1, 'pgamqp.bench.never', array['k'],"
              + " array(select repeat('x', " + bodyBytes + ") from generate_series(1, " + n + ")),"
              + " deliver_at => now() + interval '7 days')");
          done += n;
        }
        double fillSeconds = (System.nanoTime() - t0) / 1e9;
        double[] with = new double[2];
        for (int i = 0; i < 2; i++) {
          with[i] = drain(url, user, amqp, messages, bodyBytes, "with" + i);
          System.out.printf("  scheduled: drain of %,d due now, %,d due next week: %,.0f msg/s%n", messages,
              scheduled, with[i]);
        }
        long outboxWith = size(url, user, "select pg_total_relation_size('amqp.outbox')");
        Thread.sleep(1_000); // statistics are flushed at most once a second
        long dead = size(url, user, "select coalesce(sum(n_dead_tup), 0) from pg_stat_user_tables"
            + " where schemaname = 'amqp' and relname = 'scheduled'");
        long scheduledBytes = size(url, user, "select pg_total_relation_size('amqp.scheduled')");
        long left = size(url, user, "select count(*) from amqp.scheduled");
        if (left != scheduled) {
          throw new IllegalStateException(left + " of " + scheduled + " delayed messages left in amqp.scheduled");
        }
        System.out.printf("scheduled: %d delayed messages at low load, each due 0.2-2 s after its publish ...%n",
            latenessMessages);
        Lateness lateness = lateness(url, user, amqp, latenessMessages);
        System.out.printf("  scheduled: arrived after due p50 %.1f / p99 %.1f / max %.1f ms%n", lateness.p50(),
            lateness.p99(), lateness.max());
        return new Result(messages, scheduled, without, with, fillSeconds, outboxWithout, outboxWith, dead,
            scheduledBytes, lateness);
      }
    } finally {
      Databases.drop(pgAdminUrl, user, db);
    }
  }

  /** One backlog due now committed in one transaction, drained by the bridge; the consumer's rate. */
  private static double drain(String url, String user, Connection amqp, int messages, int bodyBytes, String tag)
      throws Exception {
    String exchange = "pgamqp.bench.sched." + tag + "." + Long.toHexString(System.nanoTime());
    String queue = exchange + ".q";
    try (Channel ch = amqp.createChannel()) {
      ch.exchangeDeclare(exchange, "direct", false, false, null);
      ch.queueDeclare(queue, true, false, false, null);
      ch.queueBind(queue, exchange, "k");
    }
    try (DrainConsumer consumer = DrainConsumer.start(amqp, queue, true)) {
      Databases.exec(url, user, "select count(amqp.publish(1, '" + exchange + "', 'k', repeat('x', " + bodyBytes
          + "), 2)) from generate_series(1, " + messages + ")");
      if (!consumer.await(messages, STALL)) {
        throw new IllegalStateException("scheduled drain stalled at " + consumer.received() + " of " + messages);
      }
      for (int i = 0; i < 300 && size(url, user, "select count(*) from amqp.outbox") > 0; i++) {
        Thread.sleep(20);
      }
      Databases.exec(url, user, "vacuum amqp.outbox"); // as in the like-for-like cells
      return consumer.rate();
    } finally {
      try (Channel ch = amqp.createChannel()) {
        ch.queueDelete(queue);
        ch.exchangeDelete(exchange);
      }
    }
  }

  /** How long after its deliver_at each delayed message arrived, in ms (database and consumer share a clock). */
  record Lateness(int messages, double p50, double p99, double max, double min) {}

  /**
   * Low load: one delayed message per transaction, every 50 ms, each due 0.2-2 s later (so several wait at once),
   * the body carrying its due time; the consumer notes when each arrived.
   */
  private static Lateness lateness(String url, String user, Connection amqp, int messages) throws Exception {
    String queue = "pgamqp.bench.sched.lateness." + Long.toHexString(System.nanoTime());
    try (Channel ch = amqp.createChannel()) {
      ch.queueDeclare(queue, true, false, false, null);
    }
    java.util.concurrent.ConcurrentLinkedQueue<Long> late = new java.util.concurrent.ConcurrentLinkedQueue<>();
    Channel consumer = amqp.createChannel();
    try {
      consumer.basicConsume(queue, true, (tag, d) -> late.add(System.currentTimeMillis()
          - Long.parseLong(new String(d.getBody(), java.nio.charset.StandardCharsets.US_ASCII))), tag -> { });
      try (java.sql.Connection c = DriverManager.getConnection(url, user, "");
          java.sql.PreparedStatement ps = c.prepareStatement("select amqp.publish(1, '', ?,"
              + " ((extract(epoch from t.at) * 1000)::bigint)::text, deliver_at => t.at)"
              + " from (select clock_timestamp() + ?::interval as at) t")) {
        java.util.Random random = new java.util.Random(42);
        for (int i = 0; i < messages; i++) {
          ps.setString(1, queue);
          ps.setString(2, (200 + random.nextInt(1800)) + " milliseconds");
          ps.execute();
          Thread.sleep(50);
        }
      }
      long deadline = System.nanoTime() + STALL.toNanos();
      while (late.size() < messages && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      if (late.size() < messages) {
        throw new IllegalStateException("only " + late.size() + " of " + messages + " delayed messages arrived");
      }
      long[] sorted = late.stream().mapToLong(Long::longValue).sorted().toArray();
      return new Lateness(sorted.length, sorted[sorted.length / 2], sorted[(int) Math.ceil(sorted.length * 0.99) - 1],
          sorted[sorted.length - 1], sorted[0]);
    } finally {
      consumer.close();
      try (Channel ch = amqp.createChannel()) {
        ch.queueDelete(queue);
      }
    }
  }

  private static long size(String url, String user, String sql) throws Exception {
    try (java.sql.Connection c = DriverManager.getConnection(url, user, "");
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
