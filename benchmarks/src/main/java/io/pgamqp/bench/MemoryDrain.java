package io.pgamqp.bench;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Memory: the bridge as users run it ({@code java -jar bridge/target/pgamqp.jar run}) under a small heap
 * ({@code -Xmx128m}) draining a large pre-filled backlog. Peak heap = the largest heap occupancy before a GC in the
 * child's {@code -Xlog:gc} log; peak RSS = the child's {@code VmHWM} from {@code /proc/<pid>/status}. The consumer is
 * {@link DrainConsumer} with auto-ack, so the rate compares with the like-for-like persistent auto-ack cell.
 */
final class MemoryDrain {
  private static final Pattern GC = Pattern.compile("(\\d+)([KMG])->(\\d+)([KMG])\\((\\d+)([KMG])\\)");

  /** {@code rate}: from the first message consumed to the last, as in the like-for-like cells. */
  record Result(int messages, double seconds, double rate, long duplicates, long peakHeapBytes,
      long heapCommittedBytes, long peakRssBytes, int gcs, String xmx, Path log, String failure) {}

  private MemoryDrain() {}

  static Result run(String pgAdminUrl, String user, String amqpHost, int amqpPort, int messages, int bodyBytes,
      String xmx, Path jfr, java.util.Map<String, Object> bridgeSettings) throws Exception {
    String db = "pgamqp_bench_mem_" + Long.toHexString(System.nanoTime());
    String url = Databases.create(pgAdminUrl, user, db);
    String exchange = "pgamqp.bench." + db;
    String queue = exchange + ".q";
    Path work = Files.createTempDirectory("pgamqp-bench-mem");
    Path gcLog = work.resolve("gc.log");
    Path log = work.resolve("bridge.log");
    try {
      System.out.printf("memory: filling %,d messages through amqp.publish ...%n", messages);
      fill(url, user, amqpHost, amqpPort, exchange, messages, bodyBytes);
      ConnectionFactory cf = new ConnectionFactory();
      cf.setHost(amqpHost);
      cf.setPort(amqpPort);
      try (Connection c = cf.newConnection("pgamqp bench memory consumer")) {
        Channel ch = c.createChannel();
        ch.exchangeDeclare(exchange, "direct", false, true, null);
        ch.queueDeclare(queue, true, false, true, null);
        ch.queueBind(queue, exchange, "k");
        DrainConsumer counter = DrainConsumer.start(c, queue, true);

        List<String> cmd = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx" + xmx, "-Xlog:gc:file=" + gcLog,
            "-Dpgamqp.db.url=" + url, "-Dpgamqp.db.user=" + user, "-Dpgamqp.http.enabled=false"));
        bridgeSettings.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        if (jfr != null) {
          cmd.add("-XX:StartFlightRecording=filename=" + jfr.toAbsolutePath() + ",settings=profile,dumponexit=true");
        }
        cmd.addAll(List.of("-jar", ServiceBridge.jar().toString(), "run"));
        System.out.printf("memory: bridge JVM -Xmx%s draining %,d messages (log %s) ...%n", xmx, messages, log);
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).directory(work.toFile()).redirectErrorStream(true)
            .redirectOutput(log.toFile()).start();
        long peakRss = 0;
        try {
          long lastPrint = t0;
          long deadline = t0 + 1_800_000_000_000L;
          long lastCount = -1;
          long lastChange = t0;
          while (counter.received() < messages && System.nanoTime() < deadline && p.isAlive()) {
            if (counter.received() != lastCount) {
              lastCount = counter.received();
              lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange > 120_000_000_000L) {
              break; // no progress for 2 minutes: report it as a failure rather than wait for the deadline
            }
            Thread.sleep(20);
            peakRss = Math.max(peakRss, status(p.pid(), "VmHWM"));
            long now = System.nanoTime();
            if (now - lastPrint > 5_000_000_000L) {
              lastPrint = now;
              System.out.printf("  memory drain: %,d / %,d consumed, %.0f msg/s, RSS %d MiB%n", counter.received(),
                  messages, counter.received() / ((now - t0) / 1e9), status(p.pid(), "VmRSS") >> 20);
            }
          }
          double seconds = (System.nanoTime() - t0) / 1e9;
          peakRss = Math.max(peakRss, status(p.pid(), "VmHWM"));
          String failure = null;
          if (counter.received() < messages) {
            boolean oom = Files.readString(log).contains("OutOfMemoryError")
                || Files.readString(gcLog).split("Pause Full", -1).length > 3;
            failure = String.format("FAILED after %,d of %,d messages: bridge %s%s (log %s)", counter.received(), messages,
                p.isAlive() ? "still running" : "exited " + p.exitValue(), oom ? ", heap exhausted (back-to-back full GCs)" : "",
                log);
            System.out.println("  memory drain " + failure);
          }
          p.destroy(); // SIGTERM: graceful stop (writes the JFR recording when asked)
          if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
          }
          long peakHeap = 0;
          long committed = 0;
          int gcs = 0;
          for (String line : Files.readAllLines(gcLog)) {
            Matcher m = GC.matcher(line);
            if (m.find()) {
              gcs++;
              peakHeap = Math.max(peakHeap, bytes(m.group(1), m.group(2)));
              committed = Math.max(committed, bytes(m.group(5), m.group(6)));
            }
          }
          return new Result((int) counter.received(), seconds, counter.rate(), counter.duplicates(), peakHeap,
              committed, peakRss, gcs, xmx, log, failure);
        } finally {
          if (p.isAlive()) {
            p.destroyForcibly();
          }
        }
      }
    } finally {
      Databases.drop(pgAdminUrl, user, db);
    }
  }

  /** Pre-fills the backlog through amqp.publish (persistent), in transactions of at most 50k messages. */
  private static void fill(String url, String user, String host, int port, String exchange, int messages,
      int bodyBytes) throws Exception {
    try (java.sql.Connection c = java.sql.DriverManager.getConnection(url, user, "");
        java.sql.Statement st = c.createStatement()) {
      st.execute("insert into amqp.broker(host, port, username, password) values ('" + host + "', " + port
          + ", 'guest', 'guest')");
      for (int done = 0; done < messages; ) {
        int n = Math.min(50_000, messages - done);
        st.execute("select count(amqp.publish(1, '" + exchange + "', 'k', repeat('x', " + bodyBytes + "), 2))"
            + " from generate_series(1, " + n + ")");
        done += n;
      }
    }
  }

  private static long bytes(String n, String unit) {
    long v = Long.parseLong(n);
    return switch (unit) {
      case "K" -> v << 10;
      case "M" -> v << 20;
      default -> v << 30;
    };
  }

  /** A {@code kB} field of {@code /proc/<pid>/status}, in bytes; 0 when unreadable. */
  static long status(long pid, String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
        if (line.startsWith(field + ":")) {
          return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
        }
      }
    } catch (IOException | RuntimeException ignored) {
      // process gone or not Linux
    }
    return 0;
  }
}
