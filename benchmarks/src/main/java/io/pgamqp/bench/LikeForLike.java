package io.pgamqp.bench;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The drain compared like for like, in four cells (persistent / transient messages x manual-ack / auto-ack consumer).
 * In each cell both sides feed one queue (durable exactly when the messages are persistent) that one
 * {@link DrainConsumer} empties, the same code with the same ack mode and prefetch:
 * <ul>
 *   <li>RabbitMQ's ceiling: PerfTest 2.22.1 as the producer only (1 producer, at most 1000 unconfirmed, {@code -C N});
 *   <li>pgamqp: the service jar's {@code run} in its own JVM, warmed up, started once for all cells, draining a backlog
 *       of N messages committed in one transaction through {@code amqp.publish}.
 * </ul>
 * Each side's rate runs from its first delivery to its last. Database time per message is the bridge's own
 * {@code pgamqp_outbox_query_seconds} (every outbox query) over the cell, divided by N.
 */
final class LikeForLike {
  record Cell(boolean persistent, boolean autoAck) {
    String name() {
      return (persistent ? "persistent" : "transient") + ", " + (autoAck ? "auto-ack" : "manual-ack");
    }
  }

  record Result(Cell cell, int messages, double perfTestRate, double bridgeRate, double dbMicrosPerMessage,
      long duplicates) {
    double ratio() {
      return bridgeRate / perfTestRate;
    }
  }

  static final List<Cell> CELLS = List.of(new Cell(true, false), new Cell(true, true), new Cell(false, false),
      new Cell(false, true));

  private static final Duration STALL = Duration.ofSeconds(60);

  private LikeForLike() {}

  static List<Result> run(String pgAdminUrl, String user, String amqpHost, int amqpPort, int messages, int bodyBytes,
      int warmupMessages, Map<String, Object> bridgeSettings) throws Exception {
    String db = "pgamqp_bench_l4l_" + Long.toHexString(System.nanoTime());
    String url = Databases.create(pgAdminUrl, user, db);
    ConnectionFactory cf = new ConnectionFactory();
    cf.setHost(amqpHost);
    cf.setPort(amqpPort);
    List<Result> results = new ArrayList<>();
    try (Connection amqp = cf.newConnection("pgamqp bench like-for-like")) {
      Databases.exec(url, user, "insert into amqp.broker(host, port, username, password) values ('" + amqpHost + "', "
          + amqpPort + ", 'guest', 'guest')");
      try (ServiceBridge bridge = ServiceBridge.start(url, user, bridgeSettings)) {
        // JIT and connection warm-up of the bridge process, in rounds like the measured ones (not measured).
        for (int round = 1; round <= 2; round++) {
          System.out.printf("like for like: warm-up round %d, the bridge drains %,d messages ...%n", round,
              warmupMessages);
          bridgeSide(url, user, amqp, bridge, new Cell(true, false), warmupMessages, bodyBytes, "warm" + round);
        }
        for (Cell cell : CELLS) {
          System.out.printf("like for like (%s): PerfTest producer -> queue -> consumer, %,d messages ...%n",
              cell.name(), messages);
          double perf = perfTestSide(amqpHost, amqpPort, amqp, cell, messages, bodyBytes);
          System.out.printf("  PerfTest %s: %,.0f msg/s%n", cell.name(), perf);
          System.out.printf("like for like (%s): %,d messages committed in one transaction, bridge drains ...%n",
              cell.name(), messages);
          BridgeSide b = bridgeSide(url, user, amqp, bridge, cell, messages, bodyBytes, "cell");
          System.out.printf("  bridge %s: %,.0f msg/s, %.1f µs database time per message, %d duplicates%n",
              cell.name(), b.rate, b.dbMicros, b.duplicates);
          results.add(new Result(cell, messages, perf, b.rate, b.dbMicros, b.duplicates));
        }
        System.out.println("  the bridge's time per batch (means over the run): "
            + OnlineLatency.breakdown(bridge));
      }
    } finally {
      Databases.drop(pgAdminUrl, user, db);
    }
    return results;
  }

  private record BridgeSide(double rate, double dbMicros, long duplicates) {}

  private static BridgeSide bridgeSide(String url, String user, Connection amqp, ServiceBridge bridge, Cell cell,
      int messages, int bodyBytes, String tag) throws Exception {
    String exchange = "pgamqp.bench.l4l." + tag + "." + Long.toHexString(System.nanoTime());
    String queue = exchange + ".q";
    declare(amqp, exchange, queue, cell.persistent());
    try (DrainConsumer consumer = DrainConsumer.start(amqp, queue, cell.autoAck())) {
      double dbBefore = bridge.outboxQuerySeconds();
      Databases.exec(url, user, "select count(amqp.publish(1, '" + exchange + "', 'k', repeat('x', " + bodyBytes + "), "
          + (cell.persistent() ? 2 : 1) + ")) from generate_series(1, " + messages + ")");
      if (!consumer.await(messages, STALL)) {
        throw new IllegalStateException("bridge drain stalled at " + consumer.received() + " of " + messages
            + "; bridge log " + bridge.log());
      }
      // Rows are deleted just after their confirms: wait for the last settle before reading the query time.
      for (int i = 0; i < 300 && outboxRows(url, user) > 0; i++) {
        Thread.sleep(20);
      }
      double dbMicros = (bridge.outboxQuerySeconds() - dbBefore) * 1e6 / messages;
      BridgeSide side = new BridgeSide(consumer.rate(), dbMicros, consumer.duplicates());
      // Each cell starts from a vacuumed outbox, as on a server whose autovacuum keeps up.
      Databases.exec(url, user, "vacuum amqp.outbox");
      return side;
    } finally {
      delete(amqp, exchange, queue);
    }
  }

  private static double perfTestSide(String host, int port, Connection amqp, Cell cell, int messages, int bodyBytes)
      throws Exception {
    String exchange = "pgamqp.bench.l4l.perftest." + Long.toHexString(System.nanoTime());
    String queue = exchange + ".q";
    declare(amqp, exchange, queue, cell.persistent());
    try (DrainConsumer consumer = DrainConsumer.start(amqp, queue, cell.autoAck())) {
      List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"), "com.rabbitmq.perf.PerfTest",
          "-h", "amqp://guest:guest@" + host + ":" + port, "-x", "1", "-y", "0", "-c", "1000",
          "-s", String.valueOf(bodyBytes), "-C", String.valueOf(messages), "-e", exchange, "-t", "direct", "-k", "k",
          "-p"));
      if (cell.persistent()) {
        cmd.addAll(List.of("-f", "persistent"));
      }
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      StringBuilder out = new StringBuilder();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          out.append(line).append('\n');
        }
      }
      if (p.waitFor() != 0 || !consumer.await(messages, STALL)) {
        throw new IOException("PerfTest side failed (exit " + p.exitValue() + ", " + consumer.received() + " of "
            + messages + " consumed):\n" + out);
      }
      return consumer.rate();
    } finally {
      delete(amqp, exchange, queue);
    }
  }

  private static void declare(Connection amqp, String exchange, String queue, boolean durable) throws Exception {
    try (Channel ch = amqp.createChannel()) {
      ch.exchangeDeclare(exchange, "direct", false, false, null);
      ch.queueDeclare(queue, durable, false, false, null);
      ch.queueBind(queue, exchange, "k");
    }
  }

  private static void delete(Connection amqp, String exchange, String queue) throws Exception {
    try (Channel ch = amqp.createChannel()) {
      ch.queueDelete(queue);
      ch.exchangeDelete(exchange);
    }
  }


  private static long outboxRows(String url, String user) throws Exception {
    try (java.sql.Connection c = DriverManager.getConnection(url, user, "");
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("select count(*) from amqp.outbox")) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
