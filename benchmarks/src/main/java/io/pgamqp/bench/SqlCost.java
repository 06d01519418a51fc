package io.pgamqp.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code amqp.publish} costs the publishing transaction, against a plain INSERT of the same row into a table of
 * the same shape ({@code create table ... (like amqp.outbox including all)}): pgbench with 8 clients running
 * one-message transactions, then N messages in one transaction, through N {@code amqp.publish} calls and through one
 * {@code amqp.publish_many} call, against one set-based {@code INSERT ... SELECT} of the same N rows. No bridge runs,
 * so {@code bridge_waiting} is false and neither function sends a NOTIFY: the state under load.
 */
final class SqlCost {
  private static final Pattern TPS = Pattern.compile("tps = ([0-9.]+) \\(without initial connection time\\)");

  /** Rates in transactions per second, times in seconds (the best of two rounds). */
  record Result(double publishTps, double insertTps, int clients, int seconds, int bulkRows, double publishBulkSeconds,
      double publishManyBulkSeconds, double insertBulkSeconds) {}

  private SqlCost() {}

  static Result run(String pgAdminUrl, String user, int bodyBytes, int clients, int seconds, int bulkRows)
      throws Exception {
    String db = "pgamqp_bench_sql_" + Long.toHexString(System.nanoTime());
    String url = Databases.create(pgAdminUrl, user, db);
    try {
      try (Connection c = DriverManager.getConnection(url, user, ""); Statement st = c.createStatement()) {
        st.execute("insert into amqp.broker(host, port) values ('127.0.0.1', 5672)");
        st.execute("create table public.plain_outbox (like amqp.outbox including all)");
      }
      String body = "x".repeat(bodyBytes);
      String publish = "select amqp.publish(1, 'pgamqp.bench', 'k', '" + body + "', 2);\n";
      String insert = "insert into public.plain_outbox (broker_id, exchange, routing_key, body, delivery_mode)"
          + " values (1, 'pgamqp.bench', 'k', '" + body + "', 2);\n";
      // Alternate the two so that a drift of the machine during the run hits both alike; keep the better of two.
      System.out.printf("sql cost: pgbench, %d clients, one-message transactions, %d s each ...%n", clients, seconds);
      double insertTps = pgbench(url, user, db, insert, clients, seconds);
      System.out.printf("  plain INSERT: %,.0f tps%n", insertTps);
      double publishTps = pgbench(url, user, db, publish, clients, seconds);
      System.out.printf("  amqp.publish: %,.0f tps%n", publishTps);

      System.out.printf("sql cost: %,d messages in one transaction ...%n", bulkRows);
      double insertBulk = Double.MAX_VALUE;
      double publishBulk = Double.MAX_VALUE;
      double publishManyBulk = Double.MAX_VALUE;
      try (Connection c = DriverManager.getConnection(url, user, ""); Statement st = c.createStatement()) {
        for (int round = 0; round < 2; round++) {
          insertBulk = Math.min(insertBulk, timed(st, "insert into public.plain_outbox (broker_id, exchange,"
              + " routing_key, body, delivery_mode) select 1, 'pgamqp.bench', 'k', repeat('x', " + bodyBytes
              + "), 2 from generate_series(1, " + bulkRows + ")"));
          publishBulk = Math.min(publishBulk, timed(st, "select count(amqp.publish(1, 'pgamqp.bench', 'k',"
              + " repeat('x', " + bodyBytes + "), 2)) from generate_series(1, " + bulkRows + ")"));
          // Building the array is part of the caller's cost, as generating the rows is part of the INSERT's.
          publishManyBulk = Math.min(publishManyBulk, timed(st, "select amqp.publish_many(1, 'pgamqp.bench',"
              + " array['k'], array_agg(repeat('x', " + bodyBytes + ")), 2) from generate_series(1, " + bulkRows
              + ")"));
        }
      }
      System.out.printf("  plain INSERT: %.3f s, amqp.publish: %.3f s, amqp.publish_many: %.3f s%n", insertBulk,
          publishBulk, publishManyBulk);
      return new Result(publishTps, insertTps, clients, seconds, bulkRows, publishBulk, publishManyBulk, insertBulk);
    } finally {
      Databases.drop(pgAdminUrl, user, db);
    }
  }

  private static double timed(Statement st, String sql) throws Exception {
    long t0 = System.nanoTime();
    st.execute(sql);
    return (System.nanoTime() - t0) / 1e9;
  }

  static double pgbench(String url, String user, String db, String script, int clients, int seconds)
      throws IOException, InterruptedException {
    Path file = Files.createTempFile("pgamqp-bench", ".sql");
    try {
      Files.writeString(file, script);
      HostPort hp = HostPort.of(url);
      List<String> cmd = new ArrayList<>(List.of(pgbenchPath(), "-n", "-c", String.valueOf(clients), "-j",
          String.valueOf(Math.min(clients, 2)), "-T", String.valueOf(seconds), "-f", file.toString(),
          "-h", hp.host, "-p", String.valueOf(hp.port), "-U", user, db));
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      double tps = -1;
      StringBuilder out = new StringBuilder();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          out.append(line).append('\n');
          Matcher m = TPS.matcher(line);
          if (m.find()) {
            tps = Double.parseDouble(m.group(1));
          }
        }
      }
      if (p.waitFor() != 0 || tps < 0) {
        throw new IOException("pgbench failed (exit " + p.exitValue() + "):\n" + out);
      }
      return tps;
    } finally {
      Files.deleteIfExists(file);
    }
  }

  /** pgbench from PATH, else the newest /usr/lib/postgresql/NN/bin/pgbench; {@code PGAMQP_BENCH_PGBENCH} wins. */
  static String pgbenchPath() {
    String env = System.getenv("PGAMQP_BENCH_PGBENCH");
    if (env != null && !env.isBlank()) {
      return env;
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "pgbench"))) {
        return Path.of(dir, "pgbench").toString();
      }
    }
    try (var dirs = Files.list(Path.of("/usr/lib/postgresql"))) {
      return dirs.map(d -> d.resolve("bin/pgbench")).filter(Files::isExecutable).map(Path::toString)
          .max(String::compareTo).orElse("pgbench");
    } catch (IOException e) {
      return "pgbench";
    }
  }

  record HostPort(String host, int port) {
    static HostPort of(String jdbcUrl) {
      Matcher m = Pattern.compile("jdbc:postgresql://([^:/]+)(?::(\\d+))?/").matcher(jdbcUrl);
      if (!m.find()) {
        return new HostPort("127.0.0.1", 5432);
      }
      return new HostPort(m.group(1), m.group(2) == null ? 5432 : Integer.parseInt(m.group(2)));
    }
  }
}
