package io.pgamqp.badinput;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.Bridge;
import io.pgamqp.faults.TcpProxy;
import io.pgamqp.testkit.AmqpTestClient;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Route;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The database goes away (a TCP proxy cuts every connection and refuses new ones): a publisher's transaction fails
 * with an error, so it knows nothing was queued; the bridge reconnects and sends everything committed meanwhile.
 */
@Tag("end-to-end")
@Timeout(120)
class DatabaseOutageEndToEndTest {

  @Test
  void publishErrorsWhileTheDatabaseIsGoneAndTheBridgeCatchesUpAfterwards() throws Exception {
    TestServers servers = TestServers.get();
    try (TestDatabase db = servers.createDatabase("db_outage");
         AmqpTestClient amqp = new AmqpTestClient();
         TcpProxy proxy = new TcpProxy(servers.dbHost(), servers.dbPort())) {
      int id = db.insertBroker();
      Route route = Route.declare(amqp, "outage");
      String viaProxy = "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + db.name();
      try (Bridge bridge = BridgeRunner.start(db, Map.of("pgamqp.db.url", viaProxy,
          "pgamqp.db.socket-timeout", "3s", "pgamqp.db.connect-timeout", "2s"))) {
        Harness.publish(db, id, route.exchange(), List.of("before"));
        assertEquals(List.of("before"), Harness.drainBodies(amqp, route.queue(), 1, Duration.ofSeconds(30)));

        // A publisher whose session goes through the proxy: the outage hits it mid-transaction.
        try (Connection publisher = DriverManager.getConnection(viaProxy, servers.dbUser(), servers.dbPassword());
             Statement st = publisher.createStatement()) {
          publisher.setAutoCommit(false);
          st.execute("select amqp.publish(" + id + ", '" + route.exchange() + "', 'k', 'lost-with-its-transaction')");
          proxy.refuseNew(true);
          proxy.cutAll();
          SQLException e = assertThrows(SQLException.class, publisher::commit);
          assertTrue(e.getSQLState() != null && e.getSQLState().startsWith("08"), e.getSQLState() + " " + e);
        }
        List<String> during = Harness.bodies("during", 30);
        Harness.publish(db, id, route.exchange(), during); // committed directly while the bridge is cut off
        Thread.sleep(2000);
        proxy.refuseNew(false);
        List<String> arrived = Harness.drainBodies(amqp, route.queue(), 30, Duration.ofSeconds(60));
        assertEquals(during, arrived);
        Eventually.until("the outbox is empty", Duration.ofSeconds(20),
            () -> db.queryLong("select count(*) from amqp.outbox") == 0);
        assertEquals(0, db.queryLong("select count(*) from amqp.dead_letter"));
        List<String> after = new ArrayList<>(Harness.bodies("after", 5));
        Harness.publish(db, id, route.exchange(), after);
        assertEquals(after, Harness.drainBodies(amqp, route.queue(), 5, Duration.ofSeconds(30)));
      }
    }
  }
}
