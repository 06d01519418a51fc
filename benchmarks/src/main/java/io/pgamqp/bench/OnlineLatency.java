package io.pgamqp.bench;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * Online latency: concurrent SQL publishers commit at a fixed total message rate while the bridge runs as users run
 * it ({@code java -jar bridge/target/pgamqp.jar run}, its own JVM), and a consumer in this JVM takes the messages off a
 * queue. Each message's body starts with its sequence number; the publisher stamps {@code System.nanoTime()} right
 * after COMMIT returns, the consumer stamps it on receipt (same JVM, same clock); latency = receipt - commit.
 *
 * <p>One bridge and one database serve a series of rates (the latency-vs-load table): a warm-up at the first rate long
 * enough for the bridge's JIT to settle (a fresh JVM compiles for tens of seconds, on the same cores), then each rate
 * for {@code seconds} after a few unrecorded seconds of its own.
 */
final class OnlineLatency {
  /** {@code cpu}: where the machine's CPU went while this rate was recorded ({@link CpuShare}). */
  record Result(double targetRate, double achievedRate, int publishers, int messagesPerTx, double seconds,
      long recorded, long lost, long beforeCommit, Histogram micros, String batches, String worst, String cpu) {
    double p(double percentile) {
      return micros.getValueAtPercentile(percentile) / 1000.0;
    }
  }

  private static final int LEAD_IN_SECONDS = 3;

  private OnlineLatency() {}

  static List<Result> run(String pgAdminUrl, String user, String amqpHost, int amqpPort, int bodyBytes,
      List<Double> rates, int publishers, int messagesPerTx, int warmupSeconds, int seconds,
      Map<String, Object> bridgeSettings) throws Exception {
    String db = "pgamqp_bench_lat_" + Long.toHexString(System.nanoTime());
    String url = Databases.create(pgAdminUrl, user, db);
    String exchange = "pgamqp.bench." + db;
    String queue = exchange + ".q";
    long planned = 10_000;
    for (int i = 0; i < rates.size(); i++) {
      planned += (long) (rates.get(i) * ((i == 0 ? warmupSeconds : LEAD_IN_SECONDS) + seconds) * 1.1);
    }
    int capacity = (int) Math.min(Integer.MAX_VALUE - 16, planned);
    long[] committedAt = new long[capacity];
    long[] receivedAt = new long[capacity];
    AtomicInteger nextSeq = new AtomicInteger();
    AtomicLong received = new AtomicLong();
    try (java.sql.Connection c = DriverManager.getConnection(url, user, ""); Statement st = c.createStatement()) {
      st.execute("insert into amqp.broker(host, port, username, password) values ('" + amqpHost + "', "
          + amqpPort + ", 'guest', 'guest')");
    }
    ConnectionFactory cf = new ConnectionFactory();
    cf.setHost(amqpHost);
    cf.setPort(amqpPort);
    try (Connection amqp = cf.newConnection("pgamqp bench latency consumer")) {
      Channel ch = amqp.createChannel();
      ch.exchangeDeclare(exchange, "direct", false, true, null);
      ch.queueDeclare(queue, true, false, true, null);
      ch.queueBind(queue, exchange, "k");
      ch.basicConsume(queue, true, (tag, d) -> {
        long now = System.nanoTime();
        byte[] b = d.getBody();
        int seq = 0;
        for (int i = 0; i < b.length && b[i] != '|'; i++) {
          seq = seq * 10 + (b[i] - '0');
        }
        if (seq < capacity) {
          receivedAt[seq] = now;
        }
        received.incrementAndGet();
      }, tag -> {});

      try (ServiceBridge bridge = ServiceBridge.start(url, user, bridgeSettings)) {
        // Wait until the bridge delivers at all (connected, owning the broker) before the clock starts.
        publishOne(url, user, exchange, bodyBytes, nextSeq, committedAt);
        long until = System.nanoTime() + 30_000_000_000L;
        while (received.get() == 0 && System.nanoTime() < until) {
          Thread.sleep(5);
        }
        List<Result> results = new ArrayList<>();
        for (int i = 0; i < rates.size(); i++) {
          Phase phase = new Phase(url, user, exchange, bodyBytes, rates.get(i), publishers, messagesPerTx,
              i == 0 ? warmupSeconds : LEAD_IN_SECONDS, seconds, capacity, nextSeq, committedAt, received);
          results.add(phase.run(bridge, receivedAt));
        }
        return results;
      }
    } finally {
      Databases.drop(pgAdminUrl, user, db);
    }
  }

  /** One rate: publishers at that rate for lead-in + seconds, the recorded window being the last {@code seconds}. */
  private record Phase(String url, String user, String exchange, int bodyBytes, double rate, int publishers,
      int messagesPerTx, int leadInSeconds, int seconds, int capacity, AtomicInteger nextSeq, long[] committedAt,
      AtomicLong received) {

    Result run(ServiceBridge bridge, long[] receivedAt) throws Exception {
      String before = metricsText(bridge); // the bridge's counters, to subtract at the end
      int firstSeq = nextSeq.get();
      AtomicBoolean stop = new AtomicBoolean();
      long start = System.nanoTime();
      long startWallMillis = System.currentTimeMillis();
      long measureFrom = start + leadInSeconds * 1_000_000_000L;
      long end = measureFrom + seconds * 1_000_000_000L;
      long intervalNs = (long) (1e9 / (rate / messagesPerTx / publishers));
      List<Thread> threads = new ArrayList<>();
      AtomicLong failures = new AtomicLong();
      for (int p = 0; p < publishers; p++) {
        long offset = intervalNs * p / publishers;
        Thread t = new Thread(() -> publish(start + offset, intervalNs, end, stop, failures),
            "latency-publisher-" + p);
        t.start();
        threads.add(t);
      }
      CpuShare cpu = null;
      String cpuText = "";
      long lastPrint = start;
      while (System.nanoTime() < end) {
        Thread.sleep(100);
        long now = System.nanoTime();
        if (cpu == null && now >= measureFrom) {
          cpu = CpuShare.start(bridge.pid());
        }
        if (now - lastPrint >= 5_000_000_000L) {
          lastPrint = now;
          System.out.printf("  latency at %,.0f msg/s: %.0f s of %d (+%d before), %,d committed, %,d received%n",
              rate, (now - start) / 1e9, seconds, leadInSeconds, nextSeq.get() - firstSeq, received.get());
        }
      }
      if (cpu != null) {
        cpuText = cpu.end();
      }
      stop.set(true);
      for (Thread t : threads) {
        t.join(60_000);
      }
      if (failures.get() > 0) {
        throw new IllegalStateException("latency publishers failed: " + failures.get());
      }
      int total = Math.min(nextSeq.get(), capacity);
      long until = System.nanoTime() + 60_000_000_000L;
      while (received.get() < total && System.nanoTime() < until) {
        Thread.sleep(10);
      }
      String batches = breakdown(bridge, before);
      Histogram h = new Histogram(60_000_000L, 3);
      long inWindow = 0;
      long lost = 0;
      long early = 0;
      for (int s = firstSeq; s < total; s++) {
        long commit = committedAt[s];
        if (commit < measureFrom || commit > end) {
          continue;
        }
        inWindow++;
        if (receivedAt[s] == 0) {
          lost++;
          continue;
        }
        long micros = (receivedAt[s] - commit) / 1000;
        if (micros < 0) {
          early++; // delivered before COMMIT returned to the publisher: the commit is visible before its reply
          micros = 0;
        }
        h.recordValue(Math.min(micros, h.getHighestTrackableValue()));
      }
      String worst = worstWindows(committedAt, receivedAt, firstSeq, total, measureFrom, end,
          startWallMillis - start / 1_000_000);
      System.out.printf("  latency at %,.0f msg/s: the bridge per batch: %s%n  latency at %,.0f msg/s: %s%n"
          + "  latency at %,.0f msg/s: worst 100 ms windows (by commit time): %s%n", rate, batches, rate, cpuText,
          rate, worst);
      return new Result(rate, inWindow / (double) seconds, publishers, messagesPerTx, seconds, h.getTotalCount(),
          lost, early, h, batches, worst, cpuText);
    }

    private void publish(long firstDue, long intervalNs, long end, AtomicBoolean stop, AtomicLong failures) {
      try (java.sql.Connection c = DriverManager.getConnection(url, user, "");
          PreparedStatement ps = c.prepareStatement("select count(amqp.publish(1, ?, 'k', b, 2))"
              + " from unnest(?::text[]) as u(b)")) {
        c.setAutoCommit(false);
        ps.setString(1, exchange);
        long due = firstDue;
        int[] seqs = new int[messagesPerTx];
        String[] bodies = new String[messagesPerTx];
        while (!stop.get()) {
          long wait = due - System.nanoTime();
          if (wait > 0) {
            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
          }
          if (System.nanoTime() >= end) {
            break;
          }
          for (int i = 0; i < messagesPerTx; i++) {
            seqs[i] = nextSeq.getAndIncrement();
            if (seqs[i] >= capacity) {
              return;
            }
            bodies[i] = body(seqs[i], bodyBytes);
          }
          ps.setArray(2, c.createArrayOf("text", bodies));
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
          }
          c.commit();
          long now = System.nanoTime();
          for (int s : seqs) {
            committedAt[s] = now;
          }
          due += intervalNs;
        }
      } catch (Exception e) {
        failures.incrementAndGet();
        e.printStackTrace();
      }
    }
  }

  private static void publishOne(String url, String user, String exchange, int bodyBytes, AtomicInteger nextSeq,
      long[] committedAt) throws Exception {
    try (java.sql.Connection c = DriverManager.getConnection(url, user, "");
        PreparedStatement ps = c.prepareStatement("select amqp.publish(1, ?, 'k', ?, 2)")) {
      int seq = nextSeq.getAndIncrement();
      ps.setString(1, exchange);
      ps.setString(2, body(seq, bodyBytes));
      ps.execute();
      committedAt[seq] = System.nanoTime();
    }
  }

  /**
   * The five 100 ms windows with the largest commit -> receipt latency, each as its wall-clock time (to line up with
   * the bridge's and the servers' logs) and that latency: where a tail comes from in time.
   */
  private static String worstWindows(long[] committedAt, long[] receivedAt, int from, int to, long fromNanos,
      long toNanos, long wallMillisAtNanoZero) {
    int windows = (int) ((toNanos - fromNanos) / 100_000_000L) + 1;
    long[] worst = new long[windows];
    for (int s = from; s < to; s++) {
      long commit = committedAt[s];
      if (commit < fromNanos || commit > toNanos || receivedAt[s] == 0) {
        continue;
      }
      int w = (int) ((commit - fromNanos) / 100_000_000L);
      worst[w] = Math.max(worst[w], receivedAt[s] - commit);
    }
    Integer[] order = new Integer[windows];
    for (int i = 0; i < windows; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Long.compare(worst[b], worst[a]));
    java.time.format.DateTimeFormatter f = java.time.format.DateTimeFormatter.ofPattern("HH:mm:ss.S")
        .withZone(java.time.ZoneId.systemDefault());
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < Math.min(5, windows); i++) {
      long wall = wallMillisAtNanoZero + (fromNanos + order[i] * 100_000_000L) / 1_000_000;
      b.append(i == 0 ? "" : ", ").append(f.format(java.time.Instant.ofEpochMilli(wall)))
          .append(String.format(" %.0f ms", worst[order[i]] / 1e6));
    }
    return b.toString();
  }

  static String body(int seq, int bodyBytes) {
    StringBuilder sb = new StringBuilder(bodyBytes).append(seq).append('|');
    while (sb.length() < bodyBytes) {
      sb.append('x');
    }
    return sb.toString();
  }

  private static final String[] SERIES = {"claim", "sweep", "settle"};

  /** Means of the bridge's per-batch metrics for broker 1 between two /metrics readings. */
  static String breakdown(ServiceBridge bridge, String before) {
    String text = metricsText(bridge);
    if (text == null || before == null) {
      return "(metrics unavailable)";
    }
    StringBuilder b = new StringBuilder();
    for (String q : SERIES) {
      String labels = "{broker=\"1\",query=\"" + q + "\"}";
      double count = delta(text, before, "pgamqp_outbox_query_seconds_count" + labels);
      double sum = delta(text, before, "pgamqp_outbox_query_seconds_sum" + labels);
      b.append(String.format("%s %.2f ms (%,.0f), ", q, count > 0 ? sum / count * 1000 : 0, count));
    }
    double confirms = delta(text, before, "pgamqp_batch_confirm_latency_seconds_count{broker=\"1\"}");
    double confirmSum = delta(text, before, "pgamqp_batch_confirm_latency_seconds_sum{broker=\"1\"}");
    double batches = delta(text, before, "pgamqp_batch_size_rows_count{broker=\"1\"}");
    double rows = delta(text, before, "pgamqp_batch_size_rows_sum{broker=\"1\"}");
    b.append(String.format("publish->confirm %.2f ms, %.1f rows per batch", confirms > 0 ? confirmSum / confirms
        * 1000 : 0, batches > 0 ? rows / batches : 0));
    return b.toString();
  }

  /** Means of the bridge's per-batch metrics for broker 1 over its whole run. */
  static String breakdown(ServiceBridge bridge) {
    return breakdown(bridge, "");
  }

  /** The bridge's /metrics text, or null when it cannot be read (the breakdown then says so). */
  private static String metricsText(ServiceBridge bridge) {
    try {
      return bridge.metrics();
    } catch (java.io.IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  private static double delta(String now, String before, String series) {
    return value(now, series) - value(before, series);
  }

  private static double value(String metrics, String series) {
    for (String line : metrics.split("\n")) {
      if (line.startsWith(series + " ")) {
        return Double.parseDouble(line.substring(series.length() + 1).trim());
      }
    }
    return 0;
  }
}
