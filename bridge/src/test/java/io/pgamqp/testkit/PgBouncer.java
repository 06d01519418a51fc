package io.pgamqp.testkit;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real PgBouncer (Debian's {@code pgbouncer} package, which {@code .ci/run} installs) of the test's own: its own ini
 * in a fresh directory, on a free port of 127.0.0.1, pointing at the test PostgreSQL server, trust authentication,
 * every database name passed through ({@code * = host=... port=...}). PgBouncer refuses to run as root, so as root it
 * runs as {@code nobody} through util-linux {@code setpriv}.
 *
 * <p>Threading: immutable apart from the process; {@link #close()} is idempotent.
 */
public final class PgBouncer implements AutoCloseable {
  private static final String ACCOUNT = "nobody";
  private static final Duration STARTUP_WAIT = Duration.ofSeconds(20);

  private final Process process;
  private final Path dir;
  private final int port;

  private PgBouncer(Process process, Path dir, int port) {
    this.process = process;
    this.dir = dir;
    this.port = port;
  }

  /** Starts PgBouncer with {@code pool_mode} ({@code transaction}, {@code statement} or {@code session}). */
  public static PgBouncer start(String poolMode) throws IOException, InterruptedException {
    Path binary = Path.of("/usr/sbin/pgbouncer");
    if (!Files.isExecutable(binary)) {
      throw new IllegalStateException("PgBouncer is not installed (/usr/sbin/pgbouncer): apt-get install -y pgbouncer"
          + " (.ci/run does)");
    }
    TestServers servers = TestServers.get();
    Path dir = Files.createTempDirectory("pgamqp-pgbouncer-");
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      port = s.getLocalPort();
    }
    Path users = dir.resolve("users.txt");
    Files.writeString(users, "\"" + servers.dbUser() + "\" \"\"\n", StandardCharsets.UTF_8);
    Path ini = dir.resolve("pgbouncer.ini");
    Files.writeString(ini, String.join("\n",
        "[databases]",
        "* = host=" + servers.dbHost() + " port=" + servers.dbPort(),
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        "listen_port = " + port,
        "unix_socket_dir =",
        "auth_type = trust",
        "auth_file = " + users,
        "pool_mode = " + poolMode,
        "max_client_conn = 500",
        "default_pool_size = 20",
        // PgJDBC sends extra_float_digits in its start-up packet, the bridge options (its pinned search_path), which
        // PgBouncer 1.18 cannot pass on: what the README tells users to configure.
        "ignore_startup_parameters = extra_float_digits, options",
        "logfile =",
        "pidfile =",
        ""), StandardCharsets.UTF_8);
    for (Path f : List.of(users, ini)) {
      Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
    }
    List<String> cmd = new ArrayList<>();
    if (new com.sun.security.auth.module.UnixSystem().getUid() == 0) {
      cmd.addAll(List.of("setpriv", "--reuid=" + ACCOUNT, "--regid=nogroup", "--clear-groups"));
    }
    cmd.addAll(List.of(binary.toString(), ini.toString()));
    Process process = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("pgbouncer.log").toFile()).start();
    PgBouncer bouncer = new PgBouncer(process, dir, port);
    long deadline = System.nanoTime() + STARTUP_WAIT.toNanos();
    while (!bouncer.listening()) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        String log = bouncer.log();
        bouncer.close();
        throw new IOException("PgBouncer did not start on 127.0.0.1:" + port + ": " + log);
      }
      Thread.sleep(50);
    }
    return bouncer;
  }

  /** A PgJDBC URL for {@code database} through this pooler. */
  public String jdbcUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
  }

  public int port() {
    return port;
  }

  /** PgBouncer's own output. */
  public String log() {
    try {
      return Files.readString(dir.resolve("pgbouncer.log"));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  private boolean listening() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroy(); // SIGTERM: PgBouncer exits at once
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    }
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temp directory left behind is harmless
    }
  }
}
