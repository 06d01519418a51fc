package io.pgamqp.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.Return;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The embedded servers on their own; they need no external server, so these always run. */
class EmbeddedServersTest {

  private static EmbeddedAmqpBroker broker;

  @BeforeAll
  static void startBroker() {
    long start = System.nanoTime();
    broker = EmbeddedAmqpBroker.start();
    System.out.printf("embedded Qpid started in %d ms on port %d%n",
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), broker.port());
  }

  @AfterAll
  static void stopBroker() {
    broker.close();
  }

  /**
   * Runs as any user: as root the server runs as {@code nobody} (see {@link UnprivilegedPostgres}). Also checks what
   * {@code amqp.autonomous_publish} needs: dblink connecting back over 127.0.0.1 with trust authentication.
   */
  @Test
  void postgresRunsQueriesAndShipsDblink() throws Exception {
    long start = System.nanoTime();
    EmbeddedDatabase database = EmbeddedDatabase.start();
    System.out.printf("embedded PostgreSQL started in %d ms on port %d (as root: %b)%n",
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), database.port(), runsAsRoot());
    try (java.sql.Connection connection =
            DriverManager.getConnection(database.jdbcUrl("postgres"), database.user(), "");
        Statement statement = connection.createStatement()) {
      try (ResultSet rows = statement.executeQuery("select current_setting('server_version_num')::int")) {
        assertTrue(rows.next());
        assertEquals(15, rows.getInt(1) / 10_000);
      }
      statement.execute("create extension dblink"); // amqp.autonomous_publish depends on it
      try (ResultSet rows = statement.executeQuery("select inet_server_addr()::text, current_user")) {
        assertTrue(rows.next());
        assertEquals("127.0.0.1/32", rows.getString(1));
        assertEquals(EmbeddedDatabase.USER, rows.getString(2));
      }
      try (ResultSet rows = statement.executeQuery("select t.answer from dblink('host=127.0.0.1 port="
          + database.port() + " dbname=postgres user=" + database.user() + "', 'select 42')"
          + " as t(answer int)")) {
        assertTrue(rows.next());
        assertEquals(42, rows.getInt(1));
      }
    } finally {
      database.close();
    }
    database.close(); // idempotent
    assertThrows(IOException.class, () -> new Socket(database.host(), database.port()).close());
  }

  /** As root, the server runs as an unprivileged account, not as root (nor with root's file access). */
  @Test
  void postgresStartedByRootRunsAsNobody() throws Exception {
    Assumptions.assumeTrue(runsAsRoot(), "only as root");
    try (EmbeddedDatabase database = EmbeddedDatabase.start();
        java.sql.Connection connection =
            DriverManager.getConnection(database.jdbcUrl("postgres"), database.user(), "");
        Statement statement = connection.createStatement()) {
      long pid;
      Path dataDirectory;
      try (ResultSet rows = statement.executeQuery(
          "select pg_backend_pid(), current_setting('data_directory'), current_setting('fsync')")) {
        assertTrue(rows.next());
        pid = rows.getLong(1);
        dataDirectory = Path.of(rows.getString(2));
        assertEquals("off", rows.getString(3));
      }
      String status = Files.readString(Path.of("/proc/" + pid + "/status"));
      String nobodyUid = Integer.toString((Integer) Files.getAttribute(dataDirectory, "unix:uid"));
      assertNotEquals("0", nobodyUid);
      assertTrue(status.lines().anyMatch(line -> line.matches("Uid:\\s+" + nobodyUid + "\\s+" + nobodyUid + ".*")),
          status);
      assertEquals(UnprivilegedPostgres.ACCOUNT, Files.getOwner(dataDirectory).getName());
      Path workDirectory = dataDirectory.getParent();
      database.close();
      assertFalse(Files.exists(workDirectory), workDirectory + " is left behind");
    }
  }

  @Test
  void qpidConfirmsAndDeliversOnVirtualHostSlash() throws Exception {
    try (Connection connection = connect("/")) {
      Channel channel = connection.createChannel();
      channel.confirmSelect();
      channel.exchangeDeclare("x-roundtrip", "direct", false, true, null);
      channel.queueDeclare("q-roundtrip", false, false, true, null);
      channel.queueBind("q-roundtrip", "x-roundtrip", "key");
      for (int i = 0; i < 100; i++) {
        AMQP.BasicProperties properties = new AMQP.BasicProperties.Builder()
            .deliveryMode(2).messageId(Integer.toString(i)).contentType("text/plain").build();
        channel.basicPublish("x-roundtrip", "key", true, properties, ("m" + i).getBytes(StandardCharsets.UTF_8));
      }
      channel.waitForConfirmsOrDie(10_000);

      List<String> bodies = new ArrayList<>();
      List<String> ids = new ArrayList<>();
      GetResponse response;
      while ((response = channel.basicGet("q-roundtrip", true)) != null) {
        bodies.add(new String(response.getBody(), StandardCharsets.UTF_8));
        ids.add(response.getProps().getMessageId());
        assertEquals(2, response.getProps().getDeliveryMode());
        assertEquals("text/plain", response.getProps().getContentType());
      }
      assertEquals(100, bodies.size());
      assertEquals("m0", bodies.get(0));
      assertEquals("m99", bodies.get(99));
      assertEquals("99", ids.get(99));
    }
  }

  @Test
  void qpidAnswersOnEveryNameOfTheDefaultVirtualHost() throws Exception {
    for (String vhost : List.of("/", "", EmbeddedAmqpBroker.VIRTUAL_HOST, "/" + EmbeddedAmqpBroker.VIRTUAL_HOST)) {
      try (Connection connection = connect(vhost)) {
        assertTrue(connection.isOpen(), vhost);
      }
    }
    assertThrows(IOException.class, () -> connect("no-such-vhost").close());
  }

  @Test
  void qpidRejectsWrongPassword() {
    ConnectionFactory factory = factory("/");
    factory.setPassword("wrong");
    assertThrows(Exception.class, () -> factory.newConnection().close());
  }

  /**
   * Pins the Qpid behaviour documented on {@link EmbeddedAmqpBroker}: each publish confirmed on its own
   * ({@code multiple = false}), not necessarily in publish order; a mandatory unroutable publish is nacked AND
   * returned, nack first; the channel stays usable.
   */
  @Test
  void qpidNacksAndReturnsMandatoryUnroutablePublishes() throws Exception {
    try (Connection connection = connect("/")) {
      Channel channel = connection.createChannel();
      List<String> events = new CopyOnWriteArrayList<>();
      channel.addConfirmListener(
          (tag, multiple) -> events.add("ack " + tag + (multiple ? " multiple" : "")),
          (tag, multiple) -> events.add("nack " + tag + (multiple ? " multiple" : "")));
      List<Return> returns = Collections.synchronizedList(new ArrayList<>());
      channel.addReturnListener(returned -> {
        returns.add(returned);
        events.add("return " + returned.getReplyCode());
      });
      channel.confirmSelect();
      channel.exchangeDeclare("x-unroutable", "direct", false, true, null);
      channel.queueDeclare("q-unroutable", false, false, true, null);
      channel.queueBind("q-unroutable", "x-unroutable", "bound");

      channel.basicPublish("x-unroutable", "bound", true, null, bytes("routed"));       // 1
      channel.basicPublish("x-unroutable", "nowhere", true, null, bytes("returned"));   // 2
      channel.basicPublish("x-unroutable", "nowhere", false, null, bytes("dropped"));   // 3
      channel.basicPublish("x-unroutable", "bound", true, null, bytes("routed too"));   // 4
      assertFalse(channel.waitForConfirms(10_000), "the mandatory unroutable publish is nacked");

      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (events.size() < 5 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      // Confirms are not in publish order: routed publishes are acked once enqueued, unroutable ones at once,
      // so "nack 2" often overtakes "ack 1". The return always follows its nack.
      assertEquals(Set.of("ack 1", "nack 2", "return 312", "ack 3", "ack 4"), Set.copyOf(events));
      assertEquals(5, events.size());
      assertEquals(events.indexOf("nack 2") + 1, events.indexOf("return 312"));
      assertEquals("returned", new String(returns.get(0).getBody(), StandardCharsets.UTF_8));
      assertTrue(channel.isOpen());
      assertEquals(2, channel.messageCount("q-unroutable"));
    }
  }

  @Test
  void brokersAreIndependentAndCloseIsIdempotent() throws Exception {
    EmbeddedAmqpBroker second = EmbeddedAmqpBroker.start();
    try {
      assertNotEquals(broker.port(), second.port());
      try (Connection connection = connect(second, "/")) {
        assertTrue(connection.isOpen());
      }
    } finally {
      second.close();
    }
    second.close();
    assertThrows(IOException.class, () -> new Socket(second.host(), second.port()).close());
  }

  private static Connection connect(String vhost) throws Exception {
    return factory(vhost).newConnection();
  }

  private static Connection connect(EmbeddedAmqpBroker target, String vhost) throws Exception {
    ConnectionFactory factory = factory(vhost);
    factory.setPort(target.port());
    return factory.newConnection();
  }

  private static ConnectionFactory factory(String vhost) {
    ConnectionFactory factory = new ConnectionFactory();
    factory.setHost(broker.host());
    factory.setPort(broker.port());
    factory.setUsername(EmbeddedAmqpBroker.USERNAME);
    factory.setPassword(EmbeddedAmqpBroker.PASSWORD);
    factory.setVirtualHost(vhost);
    factory.setAutomaticRecoveryEnabled(false);
    return factory;
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static boolean runsAsRoot() {
    return EmbeddedDatabase.runsAsRoot();
  }
}
