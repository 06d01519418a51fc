package io.pgamqp.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.Delivery;
import io.pgamqp.faults.TcpProxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kit itself, against PostgreSQL and an AMQP broker (real ones when they are up, else embedded; see
 * {@link TestServers}). Independent of {@code sql/install.sql}: it installs a stand-in script.
 */
class TestKitTest {

  private static final String STAND_IN_INSTALL = """
      create schema amqp;
      create table amqp.broker (broker_id serial not null, host text not null, port integer not null default 5672,
        vhost text, username text, password text, primary key (broker_id, host, port));
      create function amqp.answer() returns int language plpgsql as $$ begin return 42; end $$;
      """;

  @Test
  void databasesAreCreatedInstalledQueriedAndDropped(@TempDir Path dir) throws Exception {
    Path install = Files.writeString(dir.resolve("install.sql"), STAND_IN_INSTALL);
    TestServers servers = TestServers.get();
    String name;
    try (TestDatabase db = servers.createDatabase("Kit-Test", install)) {
      name = db.name();
      assertTrue(name.matches("pgamqp_kit_test_[a-z0-9]+"), name);
      assertEquals(servers.jdbcUrl(name), db.jdbcUrl());
      assertEquals(42, db.queryLong("select amqp.answer()"));
      assertEquals(7, db.queryLong("select ?::int + ?::int", 3, 4));
      int brokerId = db.insertBroker();
      assertEquals(servers.amqp().port(),
          db.queryLong("select port from amqp.broker where broker_id = ?", brokerId));
      db.exec("update amqp.broker set vhost = ? where broker_id = ?", "other", brokerId);
      assertEquals(1, db.queryLong("select count(*) from amqp.broker where vhost = 'other'"));
      assertThrows(IllegalStateException.class, () -> db.queryLong("select null::int"));
      try (java.sql.Connection held = db.connect()) { // close() must drop it anyway
        assertFalse(held.isClosed());
        db.close();
      }
      db.close();
    }
    assertEquals(0, countDatabases(servers, name));
  }

  @Test
  void createDatabaseAppliesTheRepositorysInstallSql() throws Exception {
    try (TestDatabase db = TestServers.get().createDatabase("kit_install")) {
      int brokerId = db.insertBroker();
      assertEquals(1, db.queryLong("select count(*) from amqp.broker where broker_id = ?", brokerId));
      assertEquals(0, db.queryLong("select count(*) from amqp.outbox"));
    }
  }

  @Test
  void failedInstallLeavesNoDatabaseBehind(@TempDir Path dir) throws Exception {
    Path broken = Files.writeString(dir.resolve("install.sql"), "create table t (x int); select 1/0;");
    TestServers servers = TestServers.get();
    SQLException e = assertThrows(SQLException.class, () -> servers.createDatabase("kit_broken", broken));
    assertEquals("22012", e.getSQLState());
    assertEquals(0, countDatabases(servers, "pgamqp_kit_broken_%"));
  }

  @Test
  void amqpClientDeclaresDrainsAndCleansUp() throws Exception {
    String exchange;
    String queue;
    try (AmqpTestClient client = new AmqpTestClient()) {
      exchange = client.uniqueName("kit-x");
      queue = client.uniqueName("kit-q");
      client.declareExchange(exchange, "topic");
      client.declareQueue(queue);
      client.bind(queue, exchange, "a.#");
      assertTrue(client.exchangeExists(exchange));
      assertFalse(client.exchangeExists(client.uniqueName("kit-missing")));

      Channel channel = client.channel();
      for (int i = 0; i < 5; i++) {
        channel.basicPublish(exchange, "a.b", null, ("m" + i).getBytes(StandardCharsets.UTF_8));
      }
      channel.basicPublish(exchange, "z", null, "unrouted".getBytes(StandardCharsets.UTF_8));
      List<Delivery> got = client.drain(queue, 5, Duration.ofSeconds(10));
      assertEquals(List.of("m0", "m1", "m2", "m3", "m4"), got.stream()
          .map(d -> new String(d.getBody(), StandardCharsets.UTF_8)).toList());
      assertEquals(0, client.drain(queue, 0, Duration.ofMillis(200)).size());
    }
    try (AmqpTestClient other = new AmqpTestClient()) {
      assertFalse(other.exchangeExists(exchange), "close() deletes what the client declared");
      Channel channel = other.channel();
      assertThrows(Exception.class, () -> channel.queueDeclarePassive(queue));
    }
  }

  @Test
  void proxiesCarryPostgresAndAmqp() throws Exception {
    TestServers servers = TestServers.get();
    try (TestDatabase db = servers.createEmptyDatabase("kit_proxy");
        TcpProxy pgProxy = new TcpProxy(servers.dbHost(), servers.dbPort());
        TcpProxy amqpProxy = new TcpProxy(servers.amqp().host(), servers.amqp().port())) {
      String proxiedUrl = db.jdbcUrl().replaceFirst(":\\d+/", ":" + pgProxy.port() + "/");
      try (java.sql.Connection connection = java.sql.DriverManager.getConnection(
          proxiedUrl, servers.dbUser(), servers.dbPassword())) {
        assertTrue(connection.isValid(5));
        pgProxy.cutAll();
        assertThrows(SQLException.class, () -> connection.createStatement().execute("select 1"));
      }
      AmqpEndpoint proxied = servers.amqp().withPort(amqpProxy.port());
      try (Connection connection = proxied.connectionFactory().newConnection()) {
        assertTrue(connection.isOpen());
        amqpProxy.cutAll();
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (connection.isOpen() && System.nanoTime() < deadline) {
          Thread.sleep(10);
        }
        assertFalse(connection.isOpen(), "a cut connection is noticed");
      } catch (com.rabbitmq.client.AlreadyClosedException expected) {
        // close() on the cut connection
      }
    }
  }

  private static long countDatabases(TestServers servers, String namePattern) throws SQLException {
    try (java.sql.Connection connection = TestDatabase.connect(servers, "postgres");
        PreparedStatement statement = connection.prepareStatement(
            "select count(*) from pg_database where datname like ?")) {
      statement.setString(1, namePattern);
      try (ResultSet rows = statement.executeQuery()) {
        rows.next();
        return rows.getLong(1);
      }
    }
  }
}
