package io.pgamqp.testkit;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The bridge as a separate JVM ({@code io.pgamqp.cli.Main run}), for kill -9 / SIGTERM / two-process tests. Output
 * goes to a log file whose contents {@link #log()} returns.
 */
public final class BridgeProcess implements AutoCloseable {
  private final Process process;
  private final Path logFile;

  private BridgeProcess(Process process, Path logFile) {
    this.process = process;
    this.logFile = logFile;
  }

  /** Starts {@code run} against {@code db}; {@code settings} are extra -D system properties (HOCON keys). */
  public static BridgeProcess start(TestDatabase db, String name, Map<String, String> settings) throws IOException {
    return start(db, name, settings, Map.of());
  }

  /** As {@link #start(TestDatabase, String, Map)}, with extra environment variables (e.g. PGAMQP_CLUSTER_PORT). */
  public static BridgeProcess start(TestDatabase db, String name, Map<String, String> settings,
      Map<String, String> env) throws IOException {
    TestServers servers = TestServers.get();
    return start(db.jdbcUrl(), servers.dbUser(), servers.dbPassword(), name, settings, env);
  }

  /** As {@link #start(TestDatabase, String, Map, Map)}, for a database elsewhere (e.g. a private server). */
  public static BridgeProcess start(String jdbcUrl, String user, String password, String name,
      Map<String, String> settings, Map<String, String> env) throws IOException {
    Path log = Files.createTempFile("pgamqp-" + name + "-", ".log");
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx256m");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    BridgeRunner.TEST_SETTINGS.forEach((k, v) -> {
      if (!settings.containsKey(k)) {
        cmd.add("-D" + k + "=" + v);
      }
    });
    settings.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
    cmd.add("io.pgamqp.cli.Main");
    cmd.add("run");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.directory(new File(System.getProperty("java.io.tmpdir")));
    pb.environment().put("PGAMQP_DB_URL", jdbcUrl);
    pb.environment().put("PGAMQP_DB_USER", user);
    pb.environment().put("PGAMQP_DB_PASSWORD", password == null ? "" : password);
    pb.environment().putAll(env);
    return new BridgeProcess(pb.start(), log);
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** kill -9. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }

  /** SIGTERM, then waits for the exit code (-1 if it did not exit in time). */
  public int terminate(Duration wait) throws InterruptedException {
    process.destroy();
    return process.waitFor(wait.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
  }

  /** Waits for the process to exit on its own; its exit code, or -1 if it still runs after {@code wait}. */
  public int awaitExit(Duration wait) throws InterruptedException {
    return process.waitFor(wait.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
  }

  /** Waits until the log contains {@code text}. */
  public boolean awaitLog(String text, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (log().contains(text)) {
        return true;
      }
      Thread.sleep(50);
    }
    return false;
  }

  /** How many times the log contains {@code text} so far. */
  public int count(String text) {
    String log = log();
    int n = 0;
    for (int i = log.indexOf(text); i >= 0; i = log.indexOf(text, i + 1)) {
      n++;
    }
    return n;
  }

  public String log() {
    try {
      return Files.readString(logFile);
    } catch (IOException e) {
      return "";
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      kill();
    }
  }
}
