package io.pgamqp.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The bridge as users run it: {@code java -jar bridge/target/pgamqp.jar run}, its own JVM with the jar's defaults, the
 * database given by {@code PGAMQP_DB_URL}; its operations port on a free local port, for readiness and /metrics.
 */
final class ServiceBridge implements AutoCloseable {
  private final Process process;
  private final Path log;
  private final int httpPort;
  private final HttpClient http = HttpClient.newHttpClient();

  private ServiceBridge(Process process, Path log, int httpPort) {
    this.process = process;
    this.log = log;
    this.httpPort = httpPort;
  }

  /** The service jar: {@code bridge/target/pgamqp.jar} from the repository root or from a module folder. */
  static Path jar() {
    for (Path p : List.of(Path.of("bridge/target/pgamqp.jar"), Path.of("../bridge/target/pgamqp.jar"))) {
      if (Files.isRegularFile(p)) {
        return p.toAbsolutePath();
      }
    }
    throw new IllegalStateException("bridge/target/pgamqp.jar not found: build it first (mvn -DskipTests package)");
  }

  static ServiceBridge start(String dbUrl, String user, Map<String, Object> settings) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path log = Files.createTempFile("pgamqp-bench-bridge-", ".log");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Dpgamqp.http.host=127.0.0.1", "-Dpgamqp.http.port=" + port));
    settings.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
    cmd.addAll(List.of("-jar", jar().toString(), "run"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("PGAMQP_DB_URL", dbUrl);
    pb.environment().put("PGAMQP_DB_USER", user);
    ServiceBridge b = new ServiceBridge(pb.start(), log, port);
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (!b.ready()) {
      if (!b.process.isAlive() || System.nanoTime() > deadline) {
        String text = Files.readString(log);
        b.close();
        throw new IllegalStateException("bridge did not get ready; its log " + log + ":\n" + text);
      }
      Thread.sleep(100);
    }
    return b;
  }

  private boolean ready() {
    try {
      return get("/health/ready").statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The bridge's Prometheus text. */
  String metrics() throws IOException, InterruptedException {
    return get("/metrics").body();
  }

  /** Seconds of database time spent in outbox queries so far (claim, sweep, settle: every query label). */
  double outboxQuerySeconds() throws IOException, InterruptedException {
    double sum = 0;
    for (String line : metrics().split("\n")) {
      if (line.startsWith("pgamqp_outbox_query_seconds_sum{")) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }

  long pid() {
    return process.pid();
  }

  Path log() {
    return log;
  }

  /** SIGTERM, as an operator stops it; its exit code. */
  int stop() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      return -1;
    }
    return process.exitValue();
  }

  /** kill -9. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      stop();
    }
  }
}
