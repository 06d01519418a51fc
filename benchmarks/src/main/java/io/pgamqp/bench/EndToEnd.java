package io.pgamqp.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The end-to-end harness: in one run, RabbitMQ's own ceiling (PerfTest) and the bridge's drain of a pre-filled backlog,
 * for persistent and transient messages, printed as a table with ratios and appended to a results file.
 *
 * <p>{@code --smoke} runs it tiny (seconds), for CI: it proves the harness works, not how fast anything is.
 */
public final class EndToEnd {
  private EndToEnd() {}

  public static void main(String[] args) throws Exception {
    Options o = Options.parse(args);
    String table = run(o);
    System.out.println(table);
    if (o.out != null) {
      Files.createDirectories(o.out.toAbsolutePath().getParent());
      Files.writeString(o.out, table + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      System.out.println("results appended to " + o.out);
    }
  }

  record Options(int messages, int bodyBytes, int perfSeconds, String pgUrl, String pgUser, String amqpHost,
      int amqpPort, Path out, boolean smoke) {
    static Options parse(String[] args) {
      int messages = 200_000;
      int perfSeconds = 20;
      boolean smoke = false;
      Path out = null;
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--smoke" -> {
            smoke = true;
            messages = 2_000;
            perfSeconds = 2;
          }
          case "--messages" -> messages = Integer.parseInt(args[++i]);
          case "--perf-seconds" -> perfSeconds = Integer.parseInt(args[++i]);
          case "--out" -> out = Path.of(args[++i]);
          default -> throw new IllegalArgumentException("unknown option " + args[i]
              + " (options: --smoke, --messages N, --perf-seconds S, --out FILE)");
        }
      }
      String pgUrl = env("PGAMQP_BENCH_PG_URL", "jdbc:postgresql://127.0.0.1:5432/postgres");
      return new Options(messages, 256, perfSeconds, pgUrl, env("PGAMQP_BENCH_PG_USER", "postgres"),
          env("PGAMQP_BENCH_AMQP_HOST", "127.0.0.1"), Integer.parseInt(env("PGAMQP_BENCH_AMQP_PORT", "5672")), out,
          smoke);
    }

    private static String env(String name, String def) {
      String v = System.getenv(name);
      return v == null || v.isBlank() ? def : v;
    }
  }

  static String run(Options o) throws Exception {
    List<String[]> rows = new ArrayList<>();
    String header = header(o);
    System.out.println(header);
    for (boolean persistent : new boolean[] {true, false}) {
      String kind = persistent ? "persistent" : "transient";
      System.out.printf("ceiling (%s): PerfTest, 1 producer, <=1000 unconfirmed, 1 consumer, %d B, %d s ...%n",
          kind, o.bodyBytes, o.perfSeconds);
      PerfTestCeiling.Result ceiling =
          PerfTestCeiling.run(o.amqpHost, o.amqpPort, persistent, o.bodyBytes, o.perfSeconds);
      System.out.printf("drain (%s): %,d messages pre-filled through amqp.publish ...%n", kind, o.messages);
      DrainRun.Result drain = DrainRun.run(o.pgUrl, o.pgUser, o.amqpHost, o.amqpPort, o.messages, o.bodyBytes,
          persistent, Map.of());
      if (drain.messages() < o.messages || drain.outboxLeft() != 0) {
        throw new IllegalStateException("drain incomplete: " + drain);
      }
      rows.add(new String[] {"drain " + kind + " (msg/s)", fmt(drain.rate()), fmt(ceiling.receiveRate()),
          String.format("%.2f", drain.rate() / ceiling.receiveRate()),
          drain.messages() + " msgs, " + String.format("%.1f s", drain.seconds()) + ", duplicates "
              + drain.duplicates()});
    }
    StringBuilder sb = new StringBuilder(header).append('\n');
    sb.append("| measure | pgamqp | ceiling (PerfTest) | ratio | notes |\n|---|---|---|---|---|\n");
    for (String[] r : rows) {
      sb.append("| ").append(String.join(" | ", r)).append(" |\n");
    }
    return sb.toString();
  }

  private static String header(Options o) throws Exception {
    String pg;
    try (java.sql.Connection c = DriverManager.getConnection(o.pgUrl, o.pgUser, "");
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("show server_version")) {
      rs.next();
      pg = rs.getString(1);
    }
    String rabbit;
    com.rabbitmq.client.ConnectionFactory cf = new com.rabbitmq.client.ConnectionFactory();
    cf.setHost(o.amqpHost);
    cf.setPort(o.amqpPort);
    try (com.rabbitmq.client.Connection c = cf.newConnection()) {
      rabbit = c.getServerProperties().get("product") + " " + c.getServerProperties().get("version");
    }
    return String.format("### %s%s%n%nmachine: %d cores, %s; Java %s; PostgreSQL %s; %s; %,d messages of %d B;"
            + " command: java -cp ... io.pgamqp.bench.EndToEnd%s%n",
        ZonedDateTime.now().withNano(0), o.smoke ? " (smoke)" : "", Runtime.getRuntime().availableProcessors(),
        memory(), System.getProperty("java.version"), pg, rabbit, o.messages, o.bodyBytes,
        o.smoke ? " --smoke" : "");
  }

  private static String memory() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal")) {
          return (Long.parseLong(line.replaceAll("\\D", "")) / 1024 / 1024) + " GiB";
        }
      }
    } catch (IOException ignored) {
      // not Linux
    }
    return "? GiB";
  }

  private static String fmt(double v) {
    return String.format("%,.0f", v);
  }
}
