package io.pgamqp.testkit;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A database created for one test (class) by {@link TestServers#createDatabase(String)}; {@link #close()} drops it,
 * disconnecting whoever is still connected ({@code drop database ... with (force)}).
 *
 * <p>Threading: thread-safe; every call opens its own connection.
 */
public final class TestDatabase implements AutoCloseable {

  private final TestServers servers;
  private final String name;
  private final AtomicBoolean closed = new AtomicBoolean();

  TestDatabase(TestServers servers, String name) {
    this.servers = servers;
    this.name = name;
  }

  /** The database's name, {@code pgamqp_<prefix>_<random>}; a plain lower-case identifier. */
  public String name() {
    return name;
  }

  /** A PgJDBC URL for this database, without credentials (see {@link TestServers#dbUser()}). */
  public String jdbcUrl() {
    return servers.jdbcUrl(name);
  }

  /** A new connection as {@link TestServers#dbUser()}, auto-commit on. The caller closes it. */
  public Connection connect() throws SQLException {
    return connect(servers, name);
  }

  /**
   * Runs a query whose first row's first column is a non-NULL integer.
   *
   * @param args bound to {@code ?} placeholders with {@code setObject}
   * @throws IllegalStateException if there is no row or the value is NULL
   */
  public long queryLong(String sql, Object... args) throws SQLException {
    try (Connection connection = connect(); PreparedStatement statement = prepare(connection, sql, args);
        ResultSet rows = statement.executeQuery()) {
      if (!rows.next()) {
        throw new IllegalStateException("no row from: " + sql);
      }
      long value = rows.getLong(1);
      if (rows.wasNull()) {
        throw new IllegalStateException("NULL from: " + sql);
      }
      return value;
    }
  }

  /**
   * Runs one statement in its own auto-committed transaction. Without {@code args} the text is sent as is, so it may
   * hold several {@code ;}-separated statements.
   *
   * @param args bound to {@code ?} placeholders with {@code setObject}
   */
  public void exec(String sql, Object... args) throws SQLException {
    try (Connection connection = connect()) {
      if (args.length == 0) {
        try (Statement statement = connection.createStatement()) {
          statement.execute(sql);
        }
      } else {
        try (PreparedStatement statement = prepare(connection, sql, args)) {
          statement.execute();
        }
      }
    }
  }

  /** Registers the tests' AMQP broker in {@code amqp.broker}; returns its new {@code broker_id}. */
  public int insertBroker() throws SQLException {
    return insertBroker(servers.amqp());
  }

  /** Registers {@code endpoint} (e.g. a proxy in front of the broker) in {@code amqp.broker}; returns its id. */
  public int insertBroker(AmqpEndpoint endpoint) throws SQLException {
    return (int) queryLong("insert into amqp.broker (host, port, vhost, username, password)"
            + " values (?, ?, ?, ?, ?) returning broker_id",
        endpoint.host(), endpoint.port(), endpoint.vhost(), endpoint.username(), endpoint.password());
  }

  /** Drops the database, terminating its remaining sessions. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try (Connection connection = connect(servers, "postgres"); Statement statement = connection.createStatement()) {
      statement.execute("drop database if exists " + name + " with (force)");
    } catch (SQLException e) {
      throw new IllegalStateException("could not drop test database " + name, e);
    }
  }

  @Override
  public String toString() {
    return "TestDatabase[" + name + "]";
  }

  static Connection connect(TestServers servers, String database) throws SQLException {
    return DriverManager.getConnection(servers.jdbcUrl(database), servers.dbUser(), servers.dbPassword());
  }

  private static PreparedStatement prepare(Connection connection, String sql, Object... args) throws SQLException {
    PreparedStatement statement = connection.prepareStatement(sql);
    try {
      for (int i = 0; i < args.length; i++) {
        statement.setObject(i + 1, args[i]);
      }
      return statement;
    } catch (SQLException | RuntimeException e) {
      statement.close();
      throw e;
    }
  }
}
