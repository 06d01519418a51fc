package io.pgamqp.testkit;

import com.rabbitmq.client.Connection;
import io.pgamqp.embedded.EmbeddedAmqpBroker;
import io.pgamqp.embedded.EmbeddedDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Assumptions;

/**
 * The PostgreSQL server and AMQP broker the tests run against, chosen once per JVM.
 *
 * <p>A server listening on 127.0.0.1:5432 (PostgreSQL, user {@code postgres}, trust authentication) or
 * 127.0.0.1:5672 (AMQP, guest/guest) is used as is. A server that does not answer is replaced by an embedded one
 * ({@link EmbeddedDatabase}, {@link EmbeddedAmqpBroker}) unless the environment variable {@code CI} is {@code "true"}:
 * on CI a missing server is a broken build, and {@link #get()} throws an {@link IllegalStateException} naming it.
 * Setting the system property {@value #FORCE_EMBEDDED_PROPERTY} or the environment variable
 * {@value #FORCE_EMBEDDED_ENV} to {@code true} uses both embedded servers even when real ones are up, also on CI;
 * {@code amqp} or {@code postgres} forces just that one (e.g. {@code PGAMQP_TEST_EMBEDDED=amqp mvn test} runs the
 * suite against Qpid with the real PostgreSQL; both ways of setting it reach surefire's forked JVM).
 * The choice is printed once to standard output. Embedded servers live until the JVM exits.
 *
 * <p>Threading: {@link #get()} and every method are thread-safe.
 */
public final class TestServers {

  /** System property that forces embedded servers when {@code "true"}. */
  public static final String FORCE_EMBEDDED_PROPERTY = "pgamqp.test.embedded";
  /** Environment variable that forces embedded servers when {@code "true"}. */
  public static final String FORCE_EMBEDDED_ENV = "PGAMQP_TEST_EMBEDDED";
  /**
   * System property: a zonky PostgreSQL binaries jar of another major version for the embedded PostgreSQL (the CI
   * profile {@code postgres-versions} runs the SQL tests and a drain on 14, 16 and 17 this way).
   */
  public static final String POSTGRES_BINARIES_PROPERTY = "pgamqp.test.postgres-binaries";

  private static final String LOOPBACK = "127.0.0.1";
  private static final int POSTGRES_PORT = 5432;
  private static final int AMQP_PORT = 5672;
  private static final int PROBE_TIMEOUT_MILLIS = 1_000;
  private static final String DB_USER = "postgres";
  private static final String DB_PASSWORD = "";
  private static final String AMQP_USER = "guest";
  private static final String AMQP_PASSWORD = "guest";
  /** PostgreSQL truncates identifiers longer than this many bytes. */
  private static final int MAX_IDENTIFIER_LENGTH = 63;

  private static final Object LOCK = new Object();
  private static volatile TestServers instance;
  private static RuntimeException startFailure; // guarded by LOCK

  private final String dbHost;
  private final int dbPort;
  private final AmqpEndpoint amqp;
  private final boolean rabbitMq;

  private TestServers(String dbHost, int dbPort, AmqpEndpoint amqp, boolean rabbitMq) {
    this.dbHost = dbHost;
    this.dbPort = dbPort;
    this.amqp = amqp;
    this.rabbitMq = rabbitMq;
  }

  /**
   * The servers for this JVM, probed (and embedded ones started) on first call.
   *
   * @throws IllegalStateException if a server is missing on CI, or an embedded one cannot start; later calls
   *     throw again without retrying
   */
  public static TestServers get() {
    TestServers servers = instance;
    if (servers != null) {
      return servers;
    }
    synchronized (LOCK) {
      if (instance == null) {
        if (startFailure != null) {
          throw new IllegalStateException("test servers unavailable (see the first failure): "
              + startFailure.getMessage(), startFailure);
        }
        try {
          instance = choose();
        } catch (RuntimeException e) {
          startFailure = e;
          throw e;
        }
      }
      return instance;
    }
  }

  /** Aborts the calling test (reported as skipped) unless the AMQP broker is a real RabbitMQ. */
  public static void assumeRabbitMq() {
    if (!get().isRabbitMq()) {
      Assumptions.abort("needs RabbitMQ behaviour; the tests run against the embedded Qpid broker");
    }
  }

  /** A PgJDBC URL for {@code database} on the test server, without credentials. */
  public String jdbcUrl(String database) {
    return "jdbc:postgresql://" + dbHost + ":" + dbPort + "/" + database;
  }

  /** The PostgreSQL server's address, for pointing a {@link io.pgamqp.faults.TcpProxy} at it. */
  public String dbHost() {
    return dbHost;
  }

  /** The PostgreSQL server's port. */
  public int dbPort() {
    return dbPort;
  }

  /** The superuser the tests connect as. */
  public String dbUser() {
    return DB_USER;
  }

  /** Empty: both the local server and the embedded one trust loopback connections. */
  public String dbPassword() {
    return DB_PASSWORD;
  }

  /** The test broker, virtual host "/". */
  public AmqpEndpoint amqp() {
    return amqp;
  }

  /** True for a real RabbitMQ, false for the embedded Qpid broker. */
  public boolean isRabbitMq() {
    return rabbitMq;
  }

  /**
   * Creates a fresh database {@code pgamqp_<prefix>_<random>} with {@code sql/install.sql} applied (as one JDBC
   * statement, like the {@code install} command). Close the result to drop it.
   */
  public TestDatabase createDatabase(String prefix) throws SQLException {
    return createDatabase(prefix, installSqlPath());
  }

  /** {@link #createDatabase(String)} with another install script; for testing the kit itself. */
  TestDatabase createDatabase(String prefix, Path installSql) throws SQLException {
    String sql;
    try {
      sql = Files.readString(installSql, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + installSql, e);
    }
    TestDatabase database = createEmptyDatabase(prefix);
    try (java.sql.Connection connection = database.connect(); Statement statement = connection.createStatement()) {
      statement.execute(sql);
    } catch (SQLException e) {
      database.close();
      throw new SQLException("applying " + installSql + " to " + database.name() + " failed: "
          + e.getMessage(), e.getSQLState(), e);
    } catch (RuntimeException e) {
      database.close();
      throw e;
    }
    return database;
  }

  /** Creates a fresh, empty database {@code pgamqp_<prefix>_<random>}. Close the result to drop it. */
  public TestDatabase createEmptyDatabase(String prefix) throws SQLException {
    String name = databaseName(prefix);
    try (java.sql.Connection connection = TestDatabase.connect(this, "postgres");
        Statement statement = connection.createStatement()) {
      statement.execute("create database " + name);
    }
    return new TestDatabase(this, name);
  }

  /** {@code $PGAMQP_REPO_ROOT/sql/install.sql} (set by surefire), else found relative to the working directory. */
  public static Path installSqlPath() {
    List<Path> candidates = new ArrayList<>();
    String repoRoot = System.getenv("PGAMQP_REPO_ROOT");
    if (repoRoot != null && !repoRoot.isBlank()) {
      candidates.add(Path.of(repoRoot, "sql", "install.sql"));
    }
    candidates.add(Path.of("..", "sql", "install.sql")); // working directory bridge/
    candidates.add(Path.of("sql", "install.sql"));       // working directory = repository root
    for (Path candidate : candidates) {
      if (Files.isRegularFile(candidate)) {
        return candidate.toAbsolutePath().normalize();
      }
    }
    throw new IllegalStateException("sql/install.sql not found (tried " + candidates
        + "); it is assembled by sql/assemble.sh");
  }

  private static String databaseName(String prefix) {
    String cleaned = prefix.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
    String suffix = Long.toString(ThreadLocalRandom.current().nextLong() >>> 1, 36);
    suffix = suffix.substring(0, Math.min(8, suffix.length()));
    int room = MAX_IDENTIFIER_LENGTH - "pgamqp__".length() - suffix.length();
    if (cleaned.length() > room) {
      cleaned = cleaned.substring(0, room);
    }
    return "pgamqp_" + cleaned + "_" + suffix;
  }

  private static TestServers choose() {
    String force = System.getProperty(FORCE_EMBEDDED_PROPERTY, System.getenv(FORCE_EMBEDDED_ENV));
    force = force == null ? "" : force.trim().toLowerCase(Locale.ROOT);
    if (!List.of("", "false", "true", "amqp", "postgres").contains(force)) {
      throw new IllegalStateException(FORCE_EMBEDDED_PROPERTY + "/" + FORCE_EMBEDDED_ENV
          + " must be true, false, amqp or postgres, was '" + force + "'");
    }
    boolean embedDatabase = force.equals("true") || force.equals("postgres")
        || !System.getProperty(POSTGRES_BINARIES_PROPERTY, "").isBlank();
    boolean embedBroker = force.equals("true") || force.equals("amqp");
    boolean onCi = "true".equalsIgnoreCase(System.getenv("CI"));

    String dbHost = LOOPBACK;
    int dbPort = POSTGRES_PORT;
    String dbDescription;
    if (!embedDatabase && listening(POSTGRES_PORT)) {
      dbDescription = "real " + LOOPBACK + ":" + POSTGRES_PORT;
    } else {
      requireNotCi(onCi, embedDatabase, "PostgreSQL", POSTGRES_PORT);
      EmbeddedDatabase database = startEmbeddedDatabase(embedDatabase);
      dbHost = database.host();
      dbPort = database.port();
      dbDescription = "embedded " + dbHost + ":" + dbPort + (embedDatabase ? " (forced)" : "") + ", "
          + serverVersion(dbHost, dbPort);
    }

    AmqpEndpoint amqp;
    boolean rabbitMq;
    String amqpDescription;
    if (!embedBroker && listening(AMQP_PORT)) {
      amqp = new AmqpEndpoint(LOOPBACK, AMQP_PORT, AMQP_USER, AMQP_PASSWORD, "/");
      String product = brokerProduct(amqp);
      rabbitMq = "RabbitMQ".equals(product);
      amqpDescription = "real " + product + " " + LOOPBACK + ":" + AMQP_PORT;
    } else {
      requireNotCi(onCi, embedBroker, "AMQP broker (RabbitMQ)", AMQP_PORT);
      EmbeddedAmqpBroker broker = startEmbeddedBroker(embedBroker);
      amqp = new AmqpEndpoint(broker.host(), broker.port(), EmbeddedAmqpBroker.USERNAME,
          EmbeddedAmqpBroker.PASSWORD, "/");
      rabbitMq = false;
      amqpDescription = "embedded Qpid " + broker.host() + ":" + broker.port() + (embedBroker ? " (forced)" : "");
    }

    System.out.println("pgamqp tests: PostgreSQL = " + dbDescription + ", AMQP = " + amqpDescription);
    return new TestServers(dbHost, dbPort, amqp, rabbitMq);
  }

  private static void requireNotCi(boolean onCi, boolean forced, String server, int port) {
    if (onCi && !forced) {
      throw new IllegalStateException(server + " is not reachable on " + LOOPBACK + ":" + port
          + " and CI=true: on CI the tests need the real server (embedded fallback is for local runs)");
    }
  }

  private static EmbeddedDatabase startEmbeddedDatabase(boolean forced) {
    String why = forced ? "forced by " + FORCE_EMBEDDED_PROPERTY + "/" + FORCE_EMBEDDED_ENV
        : "nothing listens on " + LOOPBACK + ":" + POSTGRES_PORT;
    String binaries = System.getProperty(POSTGRES_BINARIES_PROPERTY, "");
    try {
      return binaries.isBlank() ? EmbeddedDatabase.start(0)
          : EmbeddedDatabase.builder().binaries(Path.of(binaries)).start();
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("embedded PostgreSQL (" + why + ") failed to start: " + e.getMessage(), e);
    }
  }

  private static EmbeddedAmqpBroker startEmbeddedBroker(boolean forced) {
    String why = forced ? "forced by " + FORCE_EMBEDDED_PROPERTY + "/" + FORCE_EMBEDDED_ENV
        : "nothing listens on " + LOOPBACK + ":" + AMQP_PORT;
    try {
      return EmbeddedAmqpBroker.start(0);
    } catch (RuntimeException e) {
      throw new IllegalStateException("embedded AMQP broker (" + why + ") failed to start: " + e.getMessage(), e);
    }
  }

  private static String serverVersion(String host, int port) {
    try (java.sql.Connection c = java.sql.DriverManager.getConnection(
            "jdbc:postgresql://" + host + ":" + port + "/postgres", DB_USER, DB_PASSWORD);
        Statement st = c.createStatement();
        java.sql.ResultSet rs = st.executeQuery("select current_setting('server_version')")) {
      rs.next();
      return "PostgreSQL " + rs.getString(1);
    } catch (SQLException e) {
      return "version unknown (" + e.getMessage() + ")";
    }
  }

  private static boolean listening(int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(LOOPBACK, port), PROBE_TIMEOUT_MILLIS);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Logs in once: a broker that accepts TCP but not guest/guest is a misconfiguration, not a reason to embed. */
  private static String brokerProduct(AmqpEndpoint endpoint) {
    try (Connection connection = endpoint.connectionFactory().newConnection("pgamqp-tests-probe")) {
      Object product = connection.getServerProperties().get("product");
      return product == null ? "unknown broker" : product.toString();
    } catch (IOException | TimeoutException e) {
      throw new IllegalStateException("an AMQP broker listens on " + LOOPBACK + ":" + endpoint.port()
          + " but logging in as " + endpoint.username() + " on vhost " + endpoint.vhost() + " failed: " + e,
          e);
    }
  }
}
