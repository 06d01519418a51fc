package io.pgamqp.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * amqp.queue_declare, queue_bind, exchange_bind and the unbinds: a pending row in amqp.topology_declaration plus a
 * kind 't' outbox row naming it, in the caller's transaction; amqp.topology shows them with exchange declarations.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TopologyDeclarePostgresTest {

    private TestDatabase db;

    @BeforeAll
    void createDatabase() throws SQLException {
        db = TestServers.get().createDatabase("topology");
    }

    @AfterAll
    void dropDatabase() {
        if (db != null) {
            db.close();
        }
    }

    @Test
    void eachCallRecordsAPendingRowAndQueuesAnOutboxRowNamingIt() throws SQLException {
        int broker = db.insertBroker();
        String xid;
        try (Connection c = db.connect()) {
            c.setAutoCommit(false);
            assertEquals(true, Sql.value(c, "select amqp.queue_declare(?, 'orders.q',"
                    + " arguments => '{\"x-dead-letter-exchange\": \"dlx\", \"x-message-ttl\": 60000}')", broker));
            assertEquals(true, Sql.value(c, "select amqp.queue_bind(?, 'orders.q', 'orders', 'order.*')", broker));
            assertEquals(true, Sql.value(c, "select amqp.exchange_bind(?, 'audit', 'orders')", broker));
            xid = (String) Sql.value(c, "select pg_current_xact_id()::text");
            c.commit();
        }
        List<Map<String, Object>> rows = Sql.rows(db, "select id, kind, name, source, routing_key, arguments::text as args,"
                + " durable, auto_delete, unbind, status, applied_at, last_error from amqp.topology_declaration"
                + " where broker_id = ? order by id", broker);
        assertEquals(List.of("queue", "queue_binding", "exchange_binding"), rows.stream().map(r -> r.get("kind")).toList());
        Map<String, Object> queue = rows.get(0);
        assertEquals("orders.q", queue.get("name"));
        // Numbers stay numbers: RabbitMQ refuses an x-message-ttl sent as a string.
        assertEquals("{\"x-message-ttl\": 60000, \"x-dead-letter-exchange\": \"dlx\"}", queue.get("args"));
        assertEquals(List.of(true, false, false), List.of(queue.get("durable"), queue.get("auto_delete"),
                queue.get("unbind")));
        assertEquals(List.of("orders", "order.*"), List.of(rows.get(1).get("source"), rows.get(1).get("routing_key")));
        assertEquals(List.of("audit", "orders", ""), List.of(rows.get(2).get("name"), rows.get(2).get("source"),
                rows.get(2).get("routing_key")));
        for (Map<String, Object> r : rows) {
            assertEquals("pending", r.get("status"));
            assertNull(r.get("applied_at"));
            assertNull(r.get("last_error"));
        }

        List<Map<String, Object>> outbox = Sql.outbox(db, broker);
        assertEquals(3, outbox.size(), outbox::toString);
        for (int i = 0; i < 3; i++) {
            assertEquals("t", outbox.get(i).get("kind"));
            assertEquals(String.valueOf(rows.get(i).get("id")), outbox.get(i).get("body"), "the body names the row");
            assertEquals(rows.get(i).get("name"), outbox.get(i).get("exchange"));
            assertEquals(xid, outbox.get(i).get("tx_text"));
        }
    }

    @Test
    void aRolledBackCallLeavesNothing() throws SQLException {
        int broker = db.insertBroker();
        try (Connection c = db.connect()) {
            c.setAutoCommit(false);
            Sql.value(c, "select amqp.queue_declare(?, 'gone.q')", broker);
            Sql.value(c, "select amqp.queue_bind(?, 'gone.q', 'x')", broker);
            c.rollback();
        }
        assertEquals(0L, db.queryLong("select count(*) from amqp.topology_declaration where broker_id = ?", broker));
        assertEquals(0, Sql.outbox(db, broker).size());
    }

    @Test
    void aNewCallOfTheSameObjectReplacesItsRequestAndResetsAFailureToPending() throws SQLException {
        int broker = db.insertBroker();
        db.exec("select amqp.queue_declare(?, 'q', arguments => '{\"x-message-ttl\": 1000}')", broker);
        db.exec("update amqp.topology_declaration set status = 'failed', applied_at = now(), last_error = 'PRECONDITION_FAILED'"
                + " where broker_id = ?", broker);
        db.exec("select amqp.queue_declare(?, 'q', false, true, '{\"x-message-ttl\": 2000}')", broker);
        List<Map<String, Object>> rows = Sql.rows(db, "select arguments::text as args, durable, auto_delete, status,"
                + " applied_at, last_error from amqp.topology_declaration where broker_id = ?", broker);
        assertEquals(1, rows.size(), "one row per queue, whatever its arguments");
        assertEquals("{\"x-message-ttl\": 2000}", rows.get(0).get("args"));
        assertEquals(List.of(false, true, "pending"), List.of(rows.get(0).get("durable"), rows.get(0).get("auto_delete"),
                rows.get(0).get("status")));
        assertNull(rows.get(0).get("applied_at"));
        assertNull(rows.get(0).get("last_error"));
        assertEquals(2, Sql.outbox(db, broker).size(), "each call is applied in its turn");
    }

    @Test
    void aBindingIsIdentifiedByItsEndsKeyAndArgumentsAndAnUnbindReplacesIt() throws SQLException {
        int broker = db.insertBroker();
        db.exec("select amqp.queue_bind(?, 'q', 'x', 'a')", broker);
        db.exec("select amqp.queue_bind(?, 'q', 'x', 'a', '{}')", broker); // no arguments and {} bind alike
        db.exec("select amqp.queue_bind(?, 'q', 'x', 'b')", broker);
        db.exec("select amqp.queue_bind(?, 'q', 'x', 'a', '{\"x-match\": \"any\"}')", broker);
        db.exec("select amqp.exchange_bind(?, 'q', 'x', 'a')", broker); // an exchange named like the queue
        assertEquals(4L, db.queryLong("select count(*) from amqp.topology_declaration where broker_id = ?", broker));

        db.exec("update amqp.topology_declaration set status = 'applied', applied_at = now() where broker_id = ?", broker);
        db.exec("select amqp.queue_unbind(?, 'q', 'x', 'a')", broker);
        assertEquals(List.of("queue_binding applied a {\"x-match\": \"any\"}", "queue_binding applied b ",
                        "queue_unbind pending a ", "exchange_binding applied a "),
                Sql.rows(db, "select kind || ' ' || status || ' ' || routing_key || ' ' || coalesce(arguments::text, '')"
                        + " as line from amqp.topology where broker_id = ? order by kind like 'exchange%', line", broker)
                        .stream().map(r -> r.get("line")).toList());
        // Unbinding a binding never declared from SQL is recorded all the same (it may have been made elsewhere).
        db.exec("select amqp.exchange_unbind(?, 'other', 'x')", broker);
        assertEquals(1L, db.queryLong("select count(*) from amqp.topology where broker_id = ? and kind = 'exchange_unbind'"
                + " and name = 'other' and source = 'x' and routing_key = '' and status = 'pending'", broker));
    }

    @Test
    void theViewShowsExchangesWithArgumentsAndMapsDeclaredToApplied() throws SQLException {
        int broker = db.insertBroker();
        db.exec("select amqp.exchange_declare(?, 'five', 'fanout', false, true)", broker);
        db.exec("select amqp.exchange_declare(?, 'six', 'topic', false, true, true)", broker);
        db.exec("select amqp.exchange_declare(?, 'seven', 'direct', false, true, false, '{\"alternate-exchange\": \"ae\"}')",
                broker);
        db.exec("update amqp.exchange_declaration set status = 'declared', applied_at = now() where broker_id = ?"
                + " and exchange = 'six'", broker);
        assertEquals(List.of("five fanout pending  t f", "seven direct pending {\"alternate-exchange\": \"ae\"} t f",
                        "six topic applied  t t"),
                Sql.rows(db, "select name || ' ' || exchange_type || ' ' || status || ' ' || coalesce(arguments::text, '')"
                        + " || ' ' || durable::text::char || ' ' || auto_delete::text::char as line"
                        + " from amqp.topology where broker_id = ? and kind = 'exchange' order by name", broker)
                        .stream().map(r -> r.get("line")).toList());
        assertEquals("declared", Sql.rows(db, "select status from amqp.exchange_declaration where broker_id = ?"
                + " and exchange = 'six'", broker).get(0).get("status"), "the table keeps its own word");
        // One exchange_declare: the 6-parameter signature was dropped, so 5- and 6-argument calls are not ambiguous.
        assertEquals(1L, db.queryLong("select count(*) from pg_proc where proname = 'exchange_declare'"
                + " and pronamespace = 'amqp'::regnamespace"));
        assertEquals(3, Sql.outbox(db, broker).size());
    }
}
