package io.pgamqp.bench;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.pgamqp.Bridge;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;

/**
 * The bridge emptying a pre-filled backlog into one queue with one consumer: the time from the bridge's start to the
 * last message consumed. Each run gets a fresh database; the consumer checks that every message arrived exactly once.
 */
final class DrainRun {
  /** {@code firstSeconds}: from the bridge's start to the first message consumed (start-up, connect, first claim). */
  record Result(int messages, double seconds, double firstSeconds, long duplicates, long outboxLeft) {
    double rate() {
      return messages / seconds;
    }

    /** The rate from the first message consumed to the last: the drain without the bridge's start-up. */
    double steadyRate() {
      return seconds > firstSeconds ? (messages - 1) / (seconds - firstSeconds) : rate();
    }
  }

  private DrainRun() {}

  static Result run(String pgAdminUrl, String user, String amqpHost, int amqpPort, int messages, int bodyBytes,
      boolean persistent, Map<String, Object> bridgeSettings) throws Exception {
    String db = "pgamqp_bench_" + Long.toHexString(System.nanoTime());
    String url = Databases.create(pgAdminUrl, user, db);
    String exchange = "pgamqp.bench." + db;
    String queue = exchange + ".q";
    try {
      Map<String, Object> settings = new java.util.HashMap<>(bridgeSettings);
      settings.put("pgamqp.db.url", url);
      settings.put("pgamqp.db.user", user);
      // The bridge's /metrics tell where a batch's time goes; printed with the result.
      settings.putIfAbsent("pgamqp.http.enabled", true);
      settings.putIfAbsent("pgamqp.http.host", "127.0.0.1");
      settings.putIfAbsent("pgamqp.http.port", 0);
      Config config = ConfigFactory.parseMap(settings).withFallback(ConfigFactory.load()).resolve();
      fill(url, user, amqpHost, amqpPort, exchange, messages, bodyBytes, persistent);

      ConnectionFactory cf = new ConnectionFactory();
      cf.setHost(amqpHost);
      cf.setPort(amqpPort);
      try (Connection c = cf.newConnection("pgamqp bench consumer")) {
        Channel ch = c.createChannel();
        ch.exchangeDeclare(exchange, "direct", false, true, null);
        ch.queueDeclare(queue, persistent, false, true, null);
        ch.queueBind(queue, exchange, "k");
        ExactlyOnceCounter counter = new ExactlyOnceCounter();
        ch.basicQos(2000);
        ch.basicConsume(queue, true, counter.callback(), tag -> {});
        long t0 = System.nanoTime();
        try (Bridge bridge = Bridge.start(config)) {
          long lastPrint = t0;
          long deadline = t0 + 600_000_000_000L;
          while (counter.received() < messages && System.nanoTime() < deadline) {
            Thread.sleep(5);
            long now = System.nanoTime();
            if (now - lastPrint > 2_000_000_000L) {
              lastPrint = now;
              double s = (now - t0) / 1e9;
              System.out.printf("  drain %s: %,d / %,d consumed, %.0f msg/s%n",
                  persistent ? "persistent" : "transient", counter.received(), messages, counter.received() / s);
            }
          }
          double seconds = (System.nanoTime() - t0) / 1e9;
          // Confirmed rows are deleted in batches just after their messages are consumed: wait for the last ones.
          long left = count(url, user);
          for (int i = 0; i < 300 && left > 0; i++) {
            Thread.sleep(100);
            left = count(url, user);
          }
          double first = counter.firstNanos() == 0 ? seconds : (counter.firstNanos() - t0) / 1e9;
          Result r = new Result((int) counter.received(), seconds, first, counter.duplicates(), left);
          System.out.printf("  drain %s: first message consumed %.2f s after the bridge's start; %.0f msg/s from"
              + " then on; per batch: %s%n", persistent ? "persistent" : "transient", first, r.steadyRate(),
              bridge.httpPort() > 0 ? OnlineLatency.breakdown(bridge.httpPort()) : "(no metrics)");
          return r;
        }
      }
    } finally {
      Databases.drop(pgAdminUrl, user, db);
    }
  }

  /** Pre-fills the backlog through amqp.publish, in transactions of at most 50k messages. */
  static void fill(String url, String user, String host, int port, String exchange, int messages,
      int bodyBytes, boolean persistent) throws Exception {
    try (java.sql.Connection c = DriverManager.getConnection(url, user, ""); Statement st = c.createStatement()) {
      st.execute("insert into amqp.broker(host, port, username, password) values ('" + host + "', " + port
          + ", 'guest', 'guest')");
      int done = 0;
      while (done < messages) {
        int n = Math.min(50_000, messages - done);
        st.execute("select count(amqp.publish(1, '" + exchange + "', 'k', repeat('x', " + bodyBytes + "), "
            + (persistent ? 2 : 1) + ")) from generate_series(1, " + n + ")");
        done += n;
      }
    }
  }

  private static long count(String url, String user) throws Exception {
    try (java.sql.Connection c = DriverManager.getConnection(url, user, "");
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("select count(*) from amqp.outbox")) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
