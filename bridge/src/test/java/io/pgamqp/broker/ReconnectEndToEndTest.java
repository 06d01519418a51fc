package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgamqp.faults.TcpProxy;
import io.pgamqp.testkit.AmqpEndpoint;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Route;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code amqp.disconnect} and edits of {@code amqp.broker}: the bridge reconnects, to the edited address, and keeps
 * delivering. Two {@link TcpProxy}s in front of the broker tell which address it uses. Needs PostgreSQL and an AMQP
 * broker.
 */
@Tag("end-to-end")
@Timeout(120)
class ReconnectEndToEndTest {

  @Test
  void disconnectReconnectsAndFollowsAnEditedBrokerRow() throws Exception {
    AmqpEndpoint broker = TestServers.get().amqp();
    try (TcpProxy first = new TcpProxy(broker.host(), broker.port());
        TcpProxy second = new TcpProxy(broker.host(), broker.port());
        BridgeUnderTest t = BridgeUnderTest.prepare("reconnect", broker.withPort(first.port()))) {
      t.startBridge(Map.of());
      Route r = Route.declare(t.amqp, "reconnect");
      List<Published.Message> m1 = Published.commit(t.db, t.brokerId, r.exchange(), r.routingKey(), List.of("m1"));
      Deliveries.drain(t.amqp, r.queue(), 1, Duration.ofSeconds(20)).assertExactly(m1);
      assertEquals(1, first.acceptedConnections());

      // Unchanged row: a fresh connection to the same address.
      t.db.exec("select amqp.disconnect(?)", t.brokerId);
      Eventually.until("a second connection through the first proxy", Duration.ofSeconds(20),
          () -> first.acceptedConnections() == 2 && first.openConnections() == 1);
      List<Published.Message> m2 = Published.commit(t.db, t.brokerId, r.exchange(), r.routingKey(), List.of("m2"));
      Deliveries.drain(t.amqp, r.queue(), 1, Duration.ofSeconds(20)).assertExactly(m2);

      // Edited row, then disconnect: the new address.
      try (Connection c = t.db.connect()) {
        c.setAutoCommit(false);
        try (PreparedStatement ps = c.prepareStatement("update amqp.broker set port = ? where broker_id = ?")) {
          ps.setInt(1, second.port());
          ps.setInt(2, t.brokerId);
          ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("select amqp.disconnect(?)")) {
          ps.setInt(1, t.brokerId);
          ps.execute();
        }
        c.commit();
      }
      // Published while the bridge switches over: nothing may be lost or sent twice.
      List<Published.Message> m3 = Published.commit(t.db, t.brokerId, r.exchange(), r.routingKey(),
          Published.bodies("m3", 200));
      Eventually.until("a connection through the second proxy, none left through the first", Duration.ofSeconds(20),
          () -> second.acceptedConnections() >= 1 && second.openConnections() == 1 && first.openConnections() == 0);
      List<Published.Message> m4 = Published.commit(t.db, t.brokerId, r.exchange(), r.routingKey(),
          Published.bodies("m4", 200));
      Deliveries arrived = Deliveries.drain(t.amqp, r.queue(), m3.size() + m4.size(), Duration.ofSeconds(20));
      arrived.assertExactly(concat(m3, m4));
      assertEquals(2, first.acceptedConnections(), "no reconnect to the old address");
      t.awaitOutboxEmpty(Duration.ofSeconds(10));
    }
  }

  private static <T> List<T> concat(List<T> a, List<T> b) {
    List<T> all = new java.util.ArrayList<>(a);
    all.addAll(b);
    return all;
  }
}
