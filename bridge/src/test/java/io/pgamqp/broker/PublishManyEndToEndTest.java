package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.rabbitmq.client.Delivery;
import io.pgamqp.testkit.Route;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * SQL {@code amqp.publish_many} → in-process bridge → a real queue: a batch arrives exactly once, in array order,
 * between the single publishes of the same transaction, with each message's routing key and correlation id. Needs
 * PostgreSQL and an AMQP broker (RabbitMQ, or the embedded Qpid fallback).
 */
@Tag("end-to-end")
@Timeout(120)
class PublishManyEndToEndTest {

  private static final int BATCH = 3_000;

  @Test
  void aBatchArrivesInArrayOrderWithItsRoutingKeysAndCorrelationIds() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("publish_many")) {
      Route r = Route.declare(t.amqp, "many");
      String otherKey = r.routingKey() + ".other";
      t.amqp.bind(r.queue(), r.exchange(), otherKey);

      List<Published.Message> sent = new ArrayList<>();
      try (Connection c = t.db.connect()) {
        c.setAutoCommit(false);
        sent.addAll(Published.inTransaction(c, t.brokerId, r.exchange(), r.routingKey(), List.of("single-before")));
        try (PreparedStatement ps = c.prepareStatement("select amqp.publish_many(?, ?,"
            + " array_agg(case when g % 2 = 0 then ? else ? end order by g), array_agg('batch-' || g order by g),"
            + " null, null, null, array_agg('corr-' || g order by g)) from generate_series(1, ?) g")) {
          ps.setInt(1, t.brokerId);
          ps.setString(2, r.exchange());
          ps.setString(3, r.routingKey());
          ps.setString(4, otherKey);
          ps.setInt(5, BATCH);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            assertEquals(BATCH, rs.getInt(1));
          }
        }
        List<Published.Message> batch = batchRows(c, t.brokerId);
        assertEquals(IntStream.rangeClosed(1, BATCH).mapToObj(g -> "batch-" + g).toList(), Published.bodiesOf(batch),
            "ids follow the array order");
        sent.addAll(batch);
        sent.addAll(Published.inTransaction(c, t.brokerId, r.exchange(), r.routingKey(), List.of("single-after")));
        c.commit();
      }
      assertEquals(BATCH + 2, sent.size());

      Deliveries arrived = Deliveries.drain(t.amqp, r.queue(), sent.size(), Duration.ofSeconds(60));

      arrived.assertExactly(sent); // once each, in id order = single, the batch in array order, single
      for (int g = 1; g <= BATCH; g++) {
        Delivery d = arrived.list().get(g);
        assertEquals(g % 2 == 0 ? r.routingKey() : otherKey, d.getEnvelope().getRoutingKey(), "routing key of " + g);
        assertEquals("corr-" + g, d.getProperties().getCorrelationId(), "correlation id of " + g);
      }
      t.awaitOutboxEmpty(Duration.ofSeconds(10));
      assertEquals(0, t.deadLetters());
    }
  }

  /** The batch's rows as this transaction sees them, in id order. */
  private static List<Published.Message> batchRows(Connection c, int brokerId) throws Exception {
    List<Published.Message> rows = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("select o.id, o.body from amqp.outbox o where o.broker_id = ?"
        + " and o.tx = pg_catalog.pg_current_xact_id() and o.body like 'batch-%' order by o.id")) {
      ps.setInt(1, brokerId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          rows.add(new Published.Message(rs.getLong(1), rs.getString(2)));
        }
      }
    }
    return rows;
  }
}
