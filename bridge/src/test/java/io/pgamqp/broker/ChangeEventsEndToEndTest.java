package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.Delivery;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.util.PSQLException;

/**
 * Table changes as messages through {@code amqp.publish_changes()} triggers, on the real broker: row-level and
 * statement-level insert/update/delete with old and new rows, truncate, in the order they happened; a rolled-back
 * change sends nothing; bad trigger definitions fail the change with an ERROR and a HINT.
 */
@Tag("end-to-end")
@Timeout(120)
class ChangeEventsEndToEndTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void rowLevelEventsCarryOldAndNewInOrderAndARollbackSendsNothing() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("changes_row")) {
      String exchange = topicWithQueue(t, "changes-row");
      try (Connection c = t.db.connect(); Statement st = c.createStatement()) {
        st.execute("create table orders (id integer primary key, status text)");
        st.execute("create trigger orders_events after insert or update or delete on orders for each row"
            + " execute function amqp.publish_changes(" + t.brokerId + ", '" + exchange + "', '{schema}.{table}.{op}')");
        c.setAutoCommit(false);
        st.execute("insert into orders values (1, 'new'), (2, 'new')");
        st.execute("update orders set status = 'paid' where id = 1");
        st.execute("delete from orders where id = 2");
        c.commit();
        st.execute("insert into orders values (3, 'rolled back')");
        c.rollback();
      }

      List<Delivery> d = t.amqp.drain(exchange + ".q", 4, Duration.ofSeconds(30));
      assertEquals(4, d.size(), "the rolled-back insert sends nothing");
      assertEquals(List.of("public.orders.insert", "public.orders.insert", "public.orders.update",
          "public.orders.delete"), d.stream().map(x -> x.getEnvelope().getRoutingKey()).toList());
      JsonNode update = JSON.readTree(d.get(2).getBody());
      assertEquals("update", update.path("op").asText());
      assertEquals("public", update.path("schema").asText());
      assertEquals("orders", update.path("table").asText());
      assertEquals("new", update.path("old").path("status").asText());
      assertEquals("paid", update.path("new").path("status").asText());
      assertTrue(update.path("xid").asText().matches("\\d+"), update.toString());
      assertTrue(update.hasNonNull("at"), update.toString());
      JsonNode delete = JSON.readTree(d.get(3).getBody());
      assertTrue(delete.path("new").isNull(), delete.toString());
      assertEquals(2, delete.path("old").path("id").asInt());
      assertTrue(JSON.readTree(d.get(0).getBody()).path("old").isNull());
      assertEquals("application/json", d.get(0).getProperties().getContentType());
      assertEquals("public.orders", d.get(1).getProperties().getHeaders().get("pgamqp-table").toString());
      assertEquals("delete", d.get(3).getProperties().getHeaders().get("pgamqp-op").toString());
    }
  }

  @Test
  void statementLevelTriggersQueueEveryRowOfTheStatementAndTruncateSendsOneEvent() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("changes_statement")) {
      String exchange = topicWithQueue(t, "changes-stmt");
      String fn = "execute function amqp.publish_changes(" + t.brokerId + ", '" + exchange + "', 'items.{op}')";
      try (Connection c = t.db.connect(); Statement st = c.createStatement()) {
        st.execute("create table items (id integer primary key, name text)");
        // PostgreSQL allows transition tables only on single-event triggers: one trigger per event.
        st.execute("create trigger items_ins after insert on items referencing new table as added"
            + " for each statement " + fn);
        st.execute("create trigger items_upd after update on items referencing old table as before new table as after"
            + " for each statement " + fn);
        st.execute("create trigger items_del after delete on items referencing old table as gone"
            + " for each statement " + fn);
        st.execute("create trigger items_truncate after truncate on items for each statement " + fn);
        st.execute("insert into items select i, 'item-' || i from generate_series(1, 3) i");
        st.execute("update items set name = name || '!' where id <= 2");
        st.execute("delete from items where id = 3");
        st.execute("truncate items");
        st.execute("insert into items select i, 'none' from generate_series(1, 0) i"); // no rows: no message
      }

      List<Delivery> d = t.amqp.drain(exchange + ".q", 7, Duration.ofSeconds(30));
      assertEquals(List.of("items.insert", "items.insert", "items.insert", "items.update", "items.update",
          "items.delete", "items.truncate"), d.stream().map(x -> x.getEnvelope().getRoutingKey()).toList());
      for (int i = 0; i < 3; i++) {
        assertEquals(i + 1, JSON.readTree(d.get(i).getBody()).path("new").path("id").asInt(), "in row order");
      }
      JsonNode firstUpdate = JSON.readTree(d.get(3).getBody());
      assertEquals(firstUpdate.path("old").path("id").asInt(), firstUpdate.path("new").path("id").asInt(),
          "old and new of one row: " + firstUpdate);
      assertEquals(firstUpdate.path("old").path("name").asText() + "!", firstUpdate.path("new").path("name").asText());
      assertEquals(3, JSON.readTree(d.get(5).getBody()).path("old").path("id").asInt());
      JsonNode truncate = JSON.readTree(d.get(6).getBody());
      assertEquals("truncate", truncate.path("op").asText());
      assertTrue(truncate.path("old").isNull() && truncate.path("new").isNull(), truncate.toString());
    }
  }

  @Test
  void badTriggerDefinitionsFailTheChangeWithAHint() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.prepare("changes_bad")) {
      t.db.exec("create table bad (id integer)");
      String[][] cases = {
          {"before insert on bad for each row execute function amqp.publish_changes(" + t.brokerId + ", 'x', 'k')",
              "amqp.publish_changes: trigger t on public.bad fires BEFORE; it must fire AFTER"},
          {"after insert on bad for each row execute function amqp.publish_changes(" + t.brokerId + ", 'x', '{tabel}')",
              "amqp.publish_changes: routing-key template '{tabel}' of trigger t names {tabel}"},
          {"after insert on bad for each row execute function amqp.publish_changes(" + t.brokerId + ", 'x')",
              "amqp.publish_changes: trigger t on public.bad has 2 arguments, needs 3"},
          {"after insert on bad for each statement execute function amqp.publish_changes(" + t.brokerId + ", 'x', 'k')",
              "amqp.publish_changes: statement-level trigger t on public.bad has no new transition table for insert"},
          {"after insert on bad for each row execute function amqp.publish_changes(987654, 'x', 'k')",
              "amqp.publish_changes: unknown broker_id 987654"}};
      for (String[] c : cases) {
        t.db.exec("create trigger t " + c[0]);
        PSQLException e = assertThrows(PSQLException.class, () -> t.db.exec("insert into bad values (1)"), c[0]);
        assertEquals(c[1], e.getServerErrorMessage().getMessage(), c[0]);
        assertTrue(e.getServerErrorMessage().getHint() != null, () -> "a hint: " + c[0]);
        t.db.exec("drop trigger t on bad");
      }
      assertEquals(0, t.db.queryLong("select count(*) from bad"), "no change was made");
      assertEquals(0, t.outboxRows(), "nothing queued");
    }
  }

  /** A topic exchange and a queue bound to it with "#", both named after {@code prefix}. */
  private static String topicWithQueue(BridgeUnderTest t, String prefix) throws SQLException {
    String exchange = t.amqp.uniqueName(prefix);
    t.amqp.declareExchange(exchange, "topic");
    t.amqp.declareQueue(exchange + ".q");
    t.amqp.bind(exchange + ".q", exchange, "#");
    return exchange;
  }
}
