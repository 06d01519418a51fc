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
 * the same shape ({@code create table ... (like amqp.outbox including all)}): {@link #wakeupStates} runs pgbench with
 * 8 clients and one-message transactions in each state a bridge can leave publishers in; {@link #run} times N
 * messages in one transaction, through N {@code amqp.publish} calls and through one {@code amqp.publish_many} call,
 * against one set-based {@code INSERT ... SELECT} of the same N rows (no bridge runs: no NOTIFY).
 */
final class SqlCost {
  private static final Pattern TPS = Pattern.compile("tps = ([0-9.]+) \\(without initial connection time\\)");

  /** Rates in transactions per second, times in seconds (the best of two rounds). */
  record Result(int bulkRows, double publishBulkSeconds, double publishManyBulkSeconds, double insertBulkSeconds,
      Triggers triggers) {}

  /** A {@code bulkRows}-row INSERT into a table without a trigger and with amqp.publish_changes at either level. */
  record Triggers(double plainSeconds, double statementLevelSeconds, double rowLevelSeconds) {}

  private SqlCost() {}

  static Result run(String pgAdminUrl, String user, int bodyBytes, int bulkRows) throws Exception {
    String db = "pgamqp_bench_sql_" + Long.toHexString(System.nanoTime());
    String url = Databases.create(pgAdminUrl, user, db);
    try {
      try (Connection c = DriverManager.getConnection(url, user, ""); Statement st = c.createStatement()) {
        st.execute("insert into amqp.broker(host, port) values ('127.0.0.1', 5672)");
        st.execute("create table public.plain_outbox (like amqp.outbox including all)");
      }
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
      return new Result(bulkRows, publishBulk, publishManyBulk, insertBulk, triggers(url, user, bulkRows));
    } finally {
      Databases.drop(pgAdminUrl, user, db);
    }
  }

  /**
   * The same INSERT of {@code rows} rows into three tables of one shape: without a trigger, with amqp.publish_changes
   * as a statement-level trigger (a transition table) and as a row-level one; each table emptied (and the outbox
   * truncated) before each round, best of two.
   */
  private static Triggers triggers(String url, String user, int rows) throws Exception {
    System.out.printf("sql cost: a %,d-row INSERT with and without amqp.publish_changes ...%n", rows);
    double plain = Double.MAX_VALUE;
    double statement = Double.MAX_VALUE;
    double row = Double.MAX_VALUE;
    try (Connection c = DriverManager.getConnection(url, user, ""); Statement st = c.createStatement()) {
      for (String t : List.of("plain_rows", "statement_rows", "row_rows")) {
        st.execute("create table public." + t + " (id bigint primary key, name text, amount numeric, at timestamptz)");
      }
      st.execute("create trigger events after insert on public.statement_rows referencing new table as added"
          + " for each statement execute function amqp.publish_changes(1, 'pgamqp.bench', '{table}.{op}')");
      st.execute("create trigger events after insert on public.row_rows"
          + " for each row execute function amqp.publish_changes(1, 'pgamqp.bench', '{table}.{op}')");
      String values = " select i, 'name-' || i, i * 1.5, now() from generate_series(1, " + rows + ") i";
      for (int round = 0; round < 2; round++) {
        st.execute("truncate public.plain_rows, public.statement_rows, public.row_rows, amqp.outbox");
        plain = Math.min(plain, timed(st, "insert into public.plain_rows" + values));
        statement = Math.min(statement, timed(st, "insert into public.statement_rows" + values));
        st.execute("truncate amqp.outbox");
        row = Math.min(row, timed(st, "insert into public.row_rows" + values));
      }
    }
    System.out.printf("  no trigger: %.3f s, statement-level: %.3f s, row-level: %.3f s%n", plain, statement, row);
    return new Triggers(plain, statement, row);
  }

  /** One wake-up state: pgbench tps of {@code amqp.publish} and of the plain INSERT measured just before it. */
  /** {@code cpu}: where the machine's CPU went during the amqp.publish run ({@link CpuShare}). */
  record StateResult(String state, double publishTps, double insertTps, String cpu) {
    double ratio() {
      return publishTps / insertTps;
    }
  }

  /**
   * One-message {@code amqp.publish} against a plain INSERT with the bridge (the service jar's {@code run}) in each
   * state: never started; running (warmed up first by an unmeasured pgbench run; it starts asleep, the first commit
   * wakes it, then it drains what pgbench commits); stopped with SIGTERM while asleep; killed with {@code kill -9}
   * while asleep, measured once its wake-up lease lapsed. The outbox is emptied between states so that every state
   * starts from the same table.
   */
  static List<StateResult> wakeupStates(String pgAdminUrl, String user, String amqpHost, int amqpPort, int bodyBytes,
      int clients, int seconds, int warmUpSeconds, java.util.Map<String, Object> bridgeSettings) throws Exception {
    String db = "pgamqp_bench_wake_" + Long.toHexString(System.nanoTime());
    String url = Databases.create(pgAdminUrl, user, db);
    String exchange = "pgamqp.bench." + db;
    com.rabbitmq.client.ConnectionFactory cf = new com.rabbitmq.client.ConnectionFactory();
    cf.setHost(amqpHost);
    cf.setPort(amqpPort);
    List<StateResult> results = new ArrayList<>();
    try (com.rabbitmq.client.Connection amqp = cf.newConnection("pgamqp bench wake-up states")) {
      try (com.rabbitmq.client.Channel ch = amqp.createChannel()) {
        ch.exchangeDeclare(exchange, "direct", false, false, null);
        ch.queueDeclare(exchange + ".q", false, false, false, null);
        ch.queueBind(exchange + ".q", exchange, "k");
      }
      try (Connection c = DriverManager.getConnection(url, user, ""); Statement st = c.createStatement();
          DrainConsumer consumer = DrainConsumer.start(amqp, exchange + ".q", true)) {
        st.execute("insert into amqp.broker(host, port, username, password) values ('" + amqpHost + "', " + amqpPort
            + ", 'guest', 'guest')");
        st.execute("create table public.plain_outbox (like amqp.outbox including all)");
        String body = "x".repeat(bodyBytes);
        String publish = "select amqp.publish(1, '" + exchange + "', 'k', '" + body + "', 2);\n";
        String insert = "insert into public.plain_outbox (broker_id, exchange, routing_key, body, delivery_mode)"
            + " values (1, '" + exchange + "', 'k', '" + body + "', 2);\n";
        java.util.concurrent.atomic.AtomicLong bridgePid = new java.util.concurrent.atomic.AtomicLong();
        // The same size of body as JSON, with the headers a traced, versioned event carries (issue "message fidelity").
        String publishJson = "select amqp.publish_json(1, '" + exchange + "', 'k', '{\"data\": \""
            + "x".repeat(Math.max(0, bodyBytes - 12)) + "\"}', 2, headers => '{\"tenant\": \"acme\","
            + " \"version\": 2, \"source\": \"orders\", \"retry\": false, \"score\": 0.5}');\n";
        java.util.function.BiFunction<String, String, StateResult> measureScript = (state, script) -> {
          try {
            st.execute("truncate amqp.outbox, public.plain_outbox");
            System.out.printf("sql cost, %s: pgbench, %d clients, %d s each ...%n", state, clients, seconds);
            double ins = pgbench(url, user, db, insert, clients, seconds);
            CpuShare cpu = CpuShare.start(bridgePid.get());
            double pub = pgbench(url, user, db, script, clients, seconds);
            String cpuText = cpu.end();
            System.out.printf("  plain INSERT %,.0f tps, amqp.publish %,.0f tps (%.2f); %s%n", ins, pub, pub / ins,
                cpuText);
            return new StateResult(state, pub, ins, cpuText);
          } catch (Exception e) {
            throw new IllegalStateException(state + ": " + e.getMessage(), e);
          }
        };
        java.util.function.Function<String, StateResult> measure = state -> measureScript.apply(state, publish);
        results.add(measure.apply("never started"));
        results.add(measureScript.apply("never started, amqp.publish_json with a 5-key headers object", publishJson));
        // The opt-in per-broker limits: a role check and a pending-rows quota on every publish.
        st.execute("update amqp.broker_state set publisher_role = '" + user + "', max_pending_rows = 100000000"
            + " where broker_id = 1");
        results.add(measure.apply("never started, publisher_role and max_pending_rows set"));
        st.execute("update amqp.broker_state set publisher_role = null, max_pending_rows = null where broker_id = 1");
        try (ServiceBridge bridge = ServiceBridge.start(url, user, bridgeSettings)) {
          bridgePid.set(bridge.pid());
          awaitAsleep(st, true);
          // Warm, as users' bridges are: a fresh JVM spends its first tens of seconds compiling, on the same cores.
          System.out.printf("sql cost: warming the bridge up (%d s of pgbench publishing, not measured) ...%n",
              warmUpSeconds);
          pgbench(url, user, db, publish, clients, warmUpSeconds);
          Thread.sleep(2_000);
          awaitAsleep(st, true);
          results.add(measure.apply("bridge running (asleep, then draining)"));
          awaitAsleep(st, true);
          bridge.stop();
          bridgePid.set(0);
        }
        results.add(measure.apply("bridge stopped by SIGTERM while asleep"));
        try (ServiceBridge bridge = ServiceBridge.start(url, user, bridgeSettings)) {
          awaitAsleep(st, true);
          bridge.kill();
          awaitAsleep(st, false); // its lease lapses
        }
        results.add(measure.apply("bridge killed (kill -9) while asleep, after its lease"));
      }
    } finally {
      Databases.drop(pgAdminUrl, user, db);
    }
    return results;
  }

  /** Waits until amqp.status says the bridge asks for NOTIFYs ({@code asleep}) or no longer does. */
  private static void awaitAsleep(Statement st, boolean asleep) throws Exception {
    long deadline = System.nanoTime() + 120_000_000_000L;
    while (System.nanoTime() < deadline) {
      try (java.sql.ResultSet rs = st.executeQuery("select bridge_waiting from amqp.status where broker_id = 1")) {
        if (rs.next() && rs.getBoolean(1) == asleep) {
          return;
        }
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("the bridge's wake-up request did not become " + asleep);
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
