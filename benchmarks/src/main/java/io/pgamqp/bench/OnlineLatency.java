package io.pgamqp.bench;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.pgamqp.Bridge;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * Online latency: concurrent SQL publishers commit at a fixed total message rate while the bridge (in this JVM) runs,
 * and a consumer takes the messages off a queue. Each message's body starts with its sequence number; the publisher
 * stamps {@code System.nanoTime()} right after COMMIT returns, the consumer stamps it on receipt (same JVM, same
 * clock); latency = receipt - commit. A warm-up (not recorded) precedes the measured period.
 */
final class OnlineLatency {
  record Result(double targetRate, double achievedRate, int publishers, int messagesPerTx, double seconds,
      long recorded, long lost, long beforeCommit, Histogram micros) {
    double p(double percentile) {
      return micros.getValueAtPercentile(percentile) / 1000.0;
    }
  }

  private OnlineLatency() {}

  static Result run(String pgAdminUrl, String user, String amqpHost, int amqpPort, int bodyBytes, double rate,
      int publishers, int messagesPerTx, int warmupSeconds, int seconds, Map<String, Object> bridgeSettings)
      throws Exception {
    String db = "pgamqp_bench_lat_" + Long.toHexString(System.nanoTime());
    String url = Databases.create(pgAdminUrl, user, db);
    String exchange = "pgamqp.bench." + db;
    String queue = exchange + ".q";
    int capacity = (int) Math.min(Integer.MAX_VALUE - 16, (long) (rate * (warmupSeconds + seconds) * 1.1) + 10_000);
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

      Map<String, Object> settings = new HashMap<>(bridgeSettings);
      settings.put("pgamqp.db.url", url);
      settings.put("pgamqp.db.user", user);
      // The bridge's own metrics say where a batch's time goes (claim, sweep, settle, confirm): printed at the end.
      settings.put("pgamqp.http.enabled", true);
      settings.put("pgamqp.http.host", "127.0.0.1");
      settings.put("pgamqp.http.port", 0);
      Config config = ConfigFactory.parseMap(settings).withFallback(ConfigFactory.load()).resolve();
      try (Bridge bridge = Bridge.start(config)) {
        // Wait until the bridge delivers at all (connected, owning the broker) before the clock starts.
        publishOne(url, user, exchange, bodyBytes, nextSeq, committedAt);
        long until = System.nanoTime() + 30_000_000_000L;
        while (received.get() == 0 && System.nanoTime() < until) {
          Thread.sleep(5);
        }
        AtomicBoolean stop = new AtomicBoolean();
        long start = System.nanoTime();
        long measureFrom = start + warmupSeconds * 1_000_000_000L;
        long end = measureFrom + seconds * 1_000_000_000L;
        double txPerSecondPerPublisher = rate / messagesPerTx / publishers;
        long intervalNs = (long) (1e9 / txPerSecondPerPublisher);
        List<Thread> threads = new ArrayList<>();
        AtomicLong failures = new AtomicLong();
        for (int p = 0; p < publishers; p++) {
          long offset = intervalNs * p / publishers;
          Thread t = new Thread(() -> {
            try (java.sql.Connection c = DriverManager.getConnection(url, user, "");
                PreparedStatement ps = c.prepareStatement("select count(amqp.publish(1, ?, 'k', b, 2))"
                    + " from unnest(?::text[]) as u(b)")) {
              c.setAutoCommit(false);
              ps.setString(1, exchange);
              long due = start + offset;
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
          }, "latency-publisher-" + p);
          t.start();
          threads.add(t);
        }
        long lastPrint = start;
        while (System.nanoTime() < end) {
          Thread.sleep(100);
          long now = System.nanoTime();
          if (now - lastPrint >= 5_000_000_000L) {
            lastPrint = now;
            System.out.printf("  latency: %.0f s of %d (+%d warm-up), %,d committed, %,d received%n",
                (now - start) / 1e9, seconds, warmupSeconds, nextSeq.get(), received.get());
          }
        }
        stop.set(true);
        for (Thread t : threads) {
          t.join(60_000);
        }
        if (failures.get() > 0) {
          throw new IllegalStateException("latency publishers failed: " + failures.get());
        }
        int total = Math.min(nextSeq.get(), capacity);
        until = System.nanoTime() + 60_000_000_000L;
        while (received.get() < total && System.nanoTime() < until) {
          Thread.sleep(10);
        }
        System.out.println("  latency: the bridge's time per batch (means over the run): " + breakdown(bridge.httpPort()));
        Histogram h = new Histogram(60_000_000L, 3);
        long inWindow = 0;
        long lost = 0;
        long early = 0;
        for (int s = 0; s < total; s++) {
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
        return new Result(rate, inWindow / (double) seconds, publishers, messagesPerTx, seconds, h.getTotalCount(),
            lost, early, h);
      }
    } finally {
      Arrays.fill(committedAt, 0);

      Databases.drop(pgAdminUrl, user, db);
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

  static String body(int seq, int bodyBytes) {
    StringBuilder sb = new StringBuilder(bodyBytes).append(seq).append('|');
    while (sb.length() < bodyBytes) {
      sb.append('x');
    }
    return sb.toString();
  }

  /** Means of the bridge's per-batch metrics for broker 1, from its /metrics endpoint. */
  static String breakdown(int httpPort) {
    try {
      java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
          java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + httpPort + "/metrics")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      String text = r.body();
      StringBuilder b = new StringBuilder();
      for (String q : new String[] {"claim", "sweep", "settle"}) {
        String labels = "{broker=\"1\",query=\"" + q + "\"}";
        double count = value(text, "pgamqp_outbox_query_seconds_count" + labels);
        double sum = value(text, "pgamqp_outbox_query_seconds_sum" + labels);
        b.append(String.format("%s %.2f ms (%,.0f), ", q, count > 0 ? sum / count * 1000 : 0, count));
      }
      double confirms = value(text, "pgamqp_batch_confirm_latency_seconds_count{broker=\"1\"}");
      double confirmSum = value(text, "pgamqp_batch_confirm_latency_seconds_sum{broker=\"1\"}");
      double batches = value(text, "pgamqp_batch_size_rows_count{broker=\"1\"}");
      double rows = value(text, "pgamqp_batch_size_rows_sum{broker=\"1\"}");
      b.append(String.format("publish->confirm %.2f ms, %.1f rows per batch", confirms > 0 ? confirmSum / confirms
          * 1000 : 0, batches > 0 ? rows / batches : 0));
      return b.toString();
    } catch (Exception e) {
      return "(metrics unavailable: " + e.getMessage() + ")";
    }
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
