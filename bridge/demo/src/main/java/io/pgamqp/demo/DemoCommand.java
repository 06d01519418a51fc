package io.pgamqp.demo;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.pgamqp.Bridge;
import io.pgamqp.cli.InstallCommand;
import io.pgamqp.config.DatabaseSettings;
import io.pgamqp.embedded.EmbeddedAmqpBroker;
import io.pgamqp.embedded.EmbeddedDatabase;
import java.nio.charset.StandardCharsets;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * {@code java -jar bridge/demo/target/pgamqp-demo.jar}: embedded PostgreSQL and an embedded AMQP broker (Apache Qpid
 * Broker-J), the SQL installed, the bridge running, messages published through SQL, and what arrived printed with
 * counts. Needs nothing but a JDK; exits 0 when exactly the committed and autonomous messages arrived, 1 when not, 2
 * on a usage error. A jar of its own: the service jar ({@code pgamqp.jar}) carries no database or broker server.
 */
public final class DemoCommand {
  private static final String EXCHANGE = "demo.orders";
  private static final String QUEUE = "demo.orders.queue";
  private static final String USAGE = """
      usage: java -jar pgamqp-demo.jar
        starts an embedded PostgreSQL and an embedded AMQP broker, installs the SQL, runs the bridge, publishes
        through SQL (committed, rolled back, autonomous) and prints what arrived; exits 0 when exactly the
        committed and the autonomous messages arrived""";

  private DemoCommand() {}

  public static void main(String[] args) {
    int code;
    if (args.length == 1 && List.of("--help", "-h", "help").contains(args[0])) {
      System.out.println(USAGE);
      code = 0;
    } else if (args.length > 0 && !(args.length == 1 && args[0].equals("demo"))) {
      System.err.println("pgamqp demo: unexpected arguments " + String.join(" ", args) + "\n" + USAGE);
      code = 2;
    } else {
      try {
        code = run();
      } catch (Exception e) {
        System.err.println("pgamqp demo: failed: " + e);
        code = 1;
      }
    }
    System.exit(code);
  }

  static int run() throws Exception {
    say("starting embedded PostgreSQL and an embedded AMQP broker (Apache Qpid Broker-J) ...");
    try (EmbeddedDatabase pg = EmbeddedDatabase.start(); EmbeddedAmqpBroker amqp = EmbeddedAmqpBroker.start()) {
      String url = pg.jdbcUrl("postgres");
      say("PostgreSQL at " + url + ", AMQP broker at " + amqp.host() + ":" + amqp.port());
      Config config = ConfigFactory.parseMap(Map.of(
              "pgamqp.db.url", url, "pgamqp.db.user", pg.user(), "pgamqp.db.password", "",
              "pgamqp.http.port", 0)) // any free port: the demo must not clash with a running bridge
          .withFallback(ConfigFactory.load()).resolve();
      InstallCommand.install(DatabaseSettings.create(config));
      say("installed schema amqp (sql/install.sql)");

      ConnectionFactory cf = new ConnectionFactory();
      cf.setHost(amqp.host());
      cf.setPort(amqp.port());
      cf.setUsername(EmbeddedAmqpBroker.USERNAME);
      cf.setPassword(EmbeddedAmqpBroker.PASSWORD);
      List<String> received = Collections.synchronizedList(new ArrayList<>());
      try (Connection consumer = cf.newConnection("pgamqp demo consumer");
          java.sql.Connection sql = DriverManager.getConnection(url, pg.user(), "");
          Statement st = sql.createStatement()) {
        Channel ch = consumer.createChannel();
        ch.exchangeDeclare(EXCHANGE, "direct", true);
        ch.queueDeclare(QUEUE, false, false, false, null);
        ch.queueBind(QUEUE, EXCHANGE, "order.created");
        ch.basicConsume(QUEUE, true, (tag, d) -> {
          String line = "  received: " + new String(d.getBody(), StandardCharsets.UTF_8)
              + "  (message_id " + d.getProperties().getMessageId() + ")";
          received.add(line);
          System.out.println(line);
        }, tag -> {});

        String broker = "insert into amqp.broker(host, port, vhost, username, password) values ('" + amqp.host()
            + "', " + amqp.port() + ", '/', 'guest', 'guest')";
        sql(st, broker);
        try (Bridge bridge = Bridge.start(config)) {
          say("bridge running; publishing through SQL:");
          sql(st, "begin");
          for (int i = 1; i <= 5; i++) {
            sql(st, "select amqp.publish(1, '" + EXCHANGE + "', 'order.created', '{\"order\": " + i + "}')");
          }
          sql(st, "commit");
          sql(st, "begin");
          sql(st, "select amqp.publish(1, '" + EXCHANGE + "', 'order.created', '{\"order\": 6, \"rolled_back\": true}')");
          sql(st, "rollback");
          sql(st, "begin");
          sql(st, "select amqp.autonomous_publish(1, '" + EXCHANGE + "', 'order.created',"
              + " '{\"audit\": \"kept although its transaction rolled back\"}')");
          sql(st, "rollback");

          long deadline = System.currentTimeMillis() + 30_000;
          while (received.size() < 6 && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
          }
          Thread.sleep(1_000); // anything that should not arrive would have by now
        }
        boolean rolledBackArrived = received.stream().anyMatch(s -> s.contains("rolled_back"));
        boolean autonomousArrived = received.stream().anyMatch(s -> s.contains("audit"));
        long committed = received.stream().filter(s -> s.contains("\"order\"") && !s.contains("rolled_back")).count();
        say("summary:");
        System.out.printf("  committed batch:                       5 published, %d arrived%n", committed);
        System.out.printf("  rolled-back publish:                   1 published, %s%n",
            rolledBackArrived ? "ARRIVED (wrong)" : "did not arrive (right: its transaction rolled back)");
        System.out.printf("  autonomous publish in a rolled-back tx: 1 published, %s%n",
            autonomousArrived ? "arrived (right: autonomous)" : "DID NOT ARRIVE (wrong)");
        boolean ok = committed == 5 && !rolledBackArrived && autonomousArrived && received.size() == 6;
        say(ok ? "demo OK: " + received.size() + " messages arrived, as expected" : "demo FAILED");
        return ok ? 0 : 1;
      }
    }
  }

  private static void sql(Statement st, String sql) throws java.sql.SQLException {
    System.out.println("  SQL> " + sql + ";");
    st.execute(sql);
  }

  private static void say(String s) {
    System.out.println("pgamqp demo: " + s);
  }
}
