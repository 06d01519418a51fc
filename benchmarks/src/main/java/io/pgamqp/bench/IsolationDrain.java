package io.pgamqp.bench;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import java.time.Duration;
import java.util.Map;

/**
 * A destination the broker refuses must hold back only itself: the bridge as users run it ({@code java -jar … run},
 * warmed up) drains {@code messages} to an existing exchange alone, and the same number committed in one transaction
 * right after as many to an exchange that does not exist (held), three rounds each, alternating. Rates from the commit of the good
 * messages to the last one consumed (auto-ack {@link DrainConsumer}, durable queue, persistent messages); and how long
 * after that commit the first good one arrived.
 */
final class IsolationDrain {
  private static final Duration STALL = Duration.ofSeconds(60);

  record Result(int messages, double[] alone, double[] behind, double[] firstSeconds) {
    double bestAlone() {
      return max(alone);
    }

    double bestBehind() {
      return max(behind);
    }

    double worstFirst() {
      double w = 0;
      for (double f : firstSeconds) {
        w = Math.max(w, f);
      }
      return w;
    }

    private static double max(double[] v) {
      double m = 0;
      for (double x : v) {
        m = Math.max(m, x);
      }
      return m;
    }
  }

  private IsolationDrain() {}

  static Result run(String pgAdminUrl, String user, String amqpHost, int amqpPort, int messages, int bodyBytes,
      int warmupMessages, Map<String, Object> bridgeSettings) throws Exception {
    String db = "pgamqp_bench_iso_" + Long.toHexString(System.nanoTime());
    String url = Databases.create(pgAdminUrl, user, db);
    ConnectionFactory cf = new ConnectionFactory();
    cf.setHost(amqpHost);
    cf.setPort(amqpPort);
    try (Connection amqp = cf.newConnection("pgamqp bench isolation")) {
      Databases.exec(url, user, "insert into amqp.broker(host, port, username, password) values ('" + amqpHost + "', "
          + amqpPort + ", 'guest', 'guest')");
      try (ServiceBridge bridge = ServiceBridge.start(url, user, bridgeSettings)) {
        System.out.printf("isolation: warm-up, the bridge drains %,d messages ...%n", warmupMessages);
        drain(url, user, amqp, warmupMessages, bodyBytes, "warm", false);
        int rounds = 3;
        double[] alone = new double[rounds];
        double[] behind = new double[rounds];
        double[] first = new double[rounds];
        for (int i = 0; i < rounds; i++) {
          alone[i] = drain(url, user, amqp, messages, bodyBytes, "alone" + i, false)[0];
          double[] b = drain(url, user, amqp, messages, bodyBytes, "behind" + i, true);
          behind[i] = b[0];
          first[i] = b[1];
          System.out.printf("  isolation: %,d alone %,.0f msg/s; behind %,d held %,.0f msg/s, first after %.3f s%n",
              messages, alone[i], messages, behind[i], first[i]);
        }
        return new Result(messages, alone, behind, first);
      }
    } finally {
      Databases.drop(pgAdminUrl, user, db);
    }
  }

  /** {rate, seconds to the first arrival}; {@code behindHeld}: as many messages to a missing exchange go first. */
  private static double[] drain(String url, String user, Connection amqp, int messages, int bodyBytes, String tag,
      boolean behindHeld) throws Exception {
    String exchange = "pgamqp.bench.iso." + tag + "." + Long.toHexString(System.nanoTime());
    String queue = exchange + ".q";
    try (Channel ch = amqp.createChannel()) {
      ch.exchangeDeclare(exchange, "direct", false, false, null);
      ch.queueDeclare(queue, true, false, false, null);
      ch.queueBind(queue, exchange, "k");
    }
    try (DrainConsumer consumer = DrainConsumer.start(amqp, queue, true)) {
      // One transaction either way, so that both start alike: the bridge asleep, woken by this commit.
      String good = "select count(amqp.publish(1, '" + exchange + "', 'k', repeat('x', " + bodyBytes + "), 2))"
          + " from generate_series(1, " + messages + ")";
      Databases.exec(url, user, !behindHeld ? good : "begin; select count(amqp.publish(1, '" + exchange
          + ".missing', 'k', repeat('x', " + bodyBytes + "), 2)) from generate_series(1, " + messages + "); " + good
          + "; commit");
      long committed = System.nanoTime();
      if (!consumer.await(messages, STALL)) {
        throw new IllegalStateException("isolation drain stalled at " + consumer.received() + " of " + messages);
      }
      double seconds = (System.nanoTime() - committed) / 1e9;
      double first = consumer.firstNanos() == 0 ? Double.NaN : (consumer.firstNanos() - committed) / 1e9;
      // The held messages stay; remove them so that the next round starts from an outbox like the others.
      Databases.exec(url, user, "delete from amqp.outbox where exchange = '" + exchange + ".missing'");
      Databases.exec(url, user, "vacuum amqp.outbox");
      return new double[] {messages / seconds, first};
    } finally {
      try (Channel ch = amqp.createChannel()) {
        ch.queueDelete(queue);
        ch.exchangeDelete(exchange);
      }
    }
  }
}
