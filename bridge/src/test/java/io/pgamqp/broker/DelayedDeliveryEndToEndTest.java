package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.rabbitmq.client.Channel;
import io.pgamqp.testkit.Eventually;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Delayed delivery ({@code deliver_at}) on the real broker: nothing arrives before it is due; messages due now are
 * not held back by delayed ones published before them; messages due together go out in publish order; a rolled-back
 * delayed publish sends nothing; amqp.status counts what is scheduled; a bridge stopped across the due time sends
 * them when it is back.
 */
@Tag("end-to-end")
@Timeout(120)
class DelayedDeliveryEndToEndTest {

  @Test
  void delayedMessagesArriveWhenDueInOrderWithoutHoldingBackLaterOnes() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("delayed")) {
      String queue = t.amqp.uniqueName("delayed");
      t.amqp.declareQueue(queue);
      Arrivals arrivals = Arrivals.consume(t.amqp.channel(), queue);
      String q = "'" + queue + "'";
      try (Connection c = t.db.connect(); Statement st = c.createStatement()) {
        c.setAutoCommit(false);
        st.execute("select amqp.publish(" + t.brokerId + ", '', " + q + ", 'late-1', deliver_at => now() + interval '2.5 s')");
        st.execute("select amqp.publish(" + t.brokerId + ", '', " + q + ", 'late-2', deliver_at => now() + interval '2.5 s')");
        st.execute("select amqp.publish_json(" + t.brokerId + ", '', " + q + ", '\"json\"', deliver_at => now() + interval '1 s')");
        st.execute("select amqp.publish(" + t.brokerId + ", '', " + q + ", 'now-1')");
        c.commit();
        st.execute("select amqp.publish_many(" + t.brokerId + ", '', array[" + q + "], array['many-1', 'many-2'],"
            + " deliver_at => now() + interval '1.5 s')");
        st.execute("select amqp.publish_bytes(" + t.brokerId + ", '', " + q + ", 'bytes'::bytea,"
            + " deliver_at => now() + interval '1.5 s')");
        c.commit();
        st.execute("select amqp.publish(" + t.brokerId + ", '', " + q + ", 'rolled back', deliver_at => now() + interval '1 s')");
        c.rollback();
        // A deliver_at already past is a message due now.
        st.execute("select amqp.publish(" + t.brokerId + ", '', " + q + ", 'now-2', deliver_at => now() - interval '1 hour')");
        c.commit();
      }
      Map<String, Long> due = dueTimes(t);
      assertEquals(6, due.size(), "scheduled: " + due);
      assertEquals(6, t.db.queryLong("select scheduled from amqp.status where broker_id = ?", t.brokerId));
      assertEquals(due.get("\"json\""), t.db.queryLong(
          "select (extract(epoch from next_due_at) * 1000)::bigint from amqp.status where broker_id = ?", t.brokerId));

      arrivals.await(8, Duration.ofSeconds(30));
      assertEquals(List.of("now-1", "now-2", "\"json\"", "many-1", "many-2", "bytes", "late-1", "late-2"),
          arrivals.bodies(), "due order, publish order among messages due together");
      for (Map.Entry<String, Long> d : due.entrySet()) {
        long late = arrivals.at(d.getKey()) - d.getValue();
        System.out.printf("delayed message %s arrived %d ms after it was due%n", d.getKey(), late);
        assertTrue(late >= 0, d.getKey() + " arrived " + -late + " ms before it was due");
        assertTrue(late < 2_000, d.getKey() + " arrived " + late + " ms after it was due");
      }
      assertTrue(arrivals.at("now-2") < due.get("\"json\""), "messages due now are not held back by delayed ones");
      Thread.sleep(300);
      assertEquals(8, arrivals.bodies().size(), "the rolled-back delayed message is not sent: " + arrivals.bodies());
      assertEquals(0, t.db.queryLong("select count(*) from amqp.scheduled"));
      assertEquals(0, t.db.queryLong("select scheduled from amqp.status where broker_id = ?", t.brokerId));
      assertEquals(1, t.db.queryLong("select count(*) from amqp.status where broker_id = ? and next_due_at is null",
          t.brokerId));
      t.awaitOutboxEmpty(Duration.ofSeconds(10));
    }
  }

  @Test
  void delayedMessagesDueWhileNoBridgeRunsAreSentByTheNextOne() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("delayed_restart")) {
      String queue = t.amqp.uniqueName("delayed-restart");
      t.amqp.declareQueue(queue);
      Arrivals arrivals = Arrivals.consume(t.amqp.channel(), queue);
      t.db.exec("select amqp.publish(?, '', ?, 'across-restart', deliver_at => now() + interval '1.5 s')",
          t.brokerId, queue);
      t.db.exec("select amqp.publish(?, '', ?, 'next-bridge', deliver_at => now() + interval '4 s')",
          t.brokerId, queue);
      Map<String, Long> due = dueTimes(t);
      t.stopBridge();
      Thread.sleep(2_000); // the first falls due while no bridge runs
      assertEquals(List.of(), arrivals.bodies(), "nothing is sent without a bridge");
      assertEquals(2, t.db.queryLong("select count(*) from amqp.scheduled"), "both wait in amqp.scheduled");
      t.startBridge(Map.of());
      arrivals.await(1, Duration.ofSeconds(20));
      assertEquals(List.of("across-restart"), arrivals.bodies(), "the overdue one at once, the other not yet");
      arrivals.await(2, Duration.ofSeconds(20));
      assertEquals(List.of("across-restart", "next-bridge"), arrivals.bodies());
      long late = arrivals.at("next-bridge") - due.get("next-bridge");
      System.out.printf("delayed message next-bridge arrived %d ms after it was due%n", late);
      assertTrue(late >= 0, "arrived " + -late + " ms before it was due");
    }
  }

  /** deliver_at of every scheduled message, epoch milliseconds, by body. */
  private static Map<String, Long> dueTimes(BridgeUnderTest t) throws SQLException {
    Map<String, Long> due = new ConcurrentHashMap<>();
    try (Connection c = t.db.connect(); Statement st = c.createStatement();
         var rs = st.executeQuery("select coalesce(body, convert_from(body_bytes, 'UTF8')),"
             + " (extract(epoch from deliver_at) * 1000)::bigint from amqp.scheduled")) {
      while (rs.next()) {
        due.put(rs.getString(1), rs.getLong(2));
      }
    }
    return due;
  }

  /** What arrived on a queue, with the arrival time (epoch ms, the clock the database uses on this machine). */
  private record Arrivals(List<String> order, Map<String, Long> times) {
    static Arrivals consume(Channel channel, String queue) throws Exception {
      Arrivals a = new Arrivals(new CopyOnWriteArrayList<>(), new ConcurrentHashMap<>());
      channel.basicConsume(queue, true, (tag, d) -> {
        long now = System.currentTimeMillis();
        String body = new String(d.getBody(), StandardCharsets.UTF_8);
        a.times.put(body, now);
        a.order.add(body);
      }, tag -> { });
      return a;
    }

    void await(int n, Duration timeout) throws Exception {
      Eventually.until(n + " messages arrived", timeout, () -> order.size() >= n);
    }

    List<String> bodies() {
      return new ArrayList<>(order);
    }

    long at(String body) {
      return times.get(body);
    }
  }
}
