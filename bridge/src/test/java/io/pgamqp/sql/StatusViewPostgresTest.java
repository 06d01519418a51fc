package io.pgamqp.sql;

import static io.pgamqp.sql.ServerErrors.assertServerErrorState;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.postgresql.util.PGInterval;

/** The view amqp.status: what it shows per broker, that it follows the traffic, and that it stays cheap. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StatusViewPostgresTest {

    private static final String INSUFFICIENT_PRIVILEGE = "42501";
    private static final long CAP = 100_000;

    private TestDatabase db;

    @BeforeAll
    void createDatabase() throws SQLException {
        db = TestServers.get().createDatabase("status");
    }

    @AfterAll
    void dropDatabase() {
        if (db != null) {
            db.close();
        }
    }

    @Test
    void listsEveryBrokerWithItsAddressesInFailoverOrderAndNoPassword() throws SQLException {
        int broker = db.insertBroker();
        db.exec("insert into amqp.broker (broker_id, host, port, password) values (?, 'zz-standby.example', 5673, 'secret'),"
                + " (?, '::1', 5672, 'secret')", broker, broker);

        Map<String, Object> status = status(broker);
        // The bridge tries hosts in descending order, then by port; IPv6 hosts are bracketed.
        String first = "zz-standby.example:5673";
        assertTrue(((String) status.get("addresses")).startsWith(first + ", "), status::toString);
        assertTrue(((String) status.get("addresses")).contains("[::1]:5672"), status::toString);
        assertFalse(status.toString().contains("secret"), status::toString);
        assertEquals(List.of("broker_id", "addresses", "backlog", "backlog_capped", "oldest_pending_age",
                        "dead_letters", "dead_letters_capped", "last_error", "last_error_at", "owner", "owned_since",
                        "connected_to", "connected_since", "last_confirm_at", "bridge_waiting", "scheduled",
                        "scheduled_capped", "next_due_at", "held_destinations"),
                List.copyOf(status.keySet()));

        db.exec("delete from amqp.broker where broker_id = ?", broker);
        assertEquals(0, Sql.rows(db, "select * from amqp.status where broker_id = ?", broker).size());
    }

    @Test
    void backlogAndOldestAgeFollowTheOutbox() throws SQLException {
        int broker = db.insertBroker();
        Map<String, Object> idle = status(broker);
        assertEquals(0L, idle.get("backlog"));
        assertEquals(false, idle.get("backlog_capped"));
        assertNull(idle.get("oldest_pending_age"), "nothing pending: no age");

        db.exec("select amqp.publish(?, 'ex', 'k', 'first')", broker);
        db.exec("update amqp.outbox set created_at = created_at - interval '90 seconds' where broker_id = ?", broker);
        db.exec("select amqp.publish(?, 'ex', 'k', 'second')", broker);
        db.exec("select amqp.exchange_declare(?, 'declared', 'fanout', false, true)", broker);

        Map<String, Object> busy = status(broker);
        assertEquals(3L, busy.get("backlog"), "messages and the declaration are all waiting");
        assertTrue(seconds(busy.get("oldest_pending_age")) >= 90, busy::toString);

        db.exec("delete from amqp.outbox where broker_id = ? and body = 'first'", broker);
        Map<String, Object> drained = status(broker);
        assertEquals(2L, drained.get("backlog"));
        assertTrue(seconds(drained.get("oldest_pending_age")) < 90, drained::toString);
    }

    @Test
    void deadLettersAreCountedPerBroker() throws SQLException {
        int broker = db.insertBroker();
        int other = db.insertBroker();
        insertDeadLetters(broker, 3);
        insertDeadLetters(other, 1);
        assertEquals(3L, status(broker).get("dead_letters"));
        assertEquals(false, status(broker).get("dead_letters_capped"));
        assertEquals(1L, status(other).get("dead_letters"));
    }

    @Test
    void showsWhatTheBridgeReports() throws SQLException {
        int broker = db.insertBroker();
        db.exec("update amqp.broker_state set owner = 'bridge-host:4242', owned_since = now() - interval '1 hour',"
                + " connected_to = '127.0.0.1:5672', connected_since = now() - interval '10 minutes',"
                + " last_confirm_at = now(), last_error = 'connection refused', last_error_at = now() - interval '11 minutes',"
                + " bridge_waiting_until = 'infinity' where broker_id = ?", broker);
        Map<String, Object> status = status(broker);
        assertEquals("bridge-host:4242", status.get("owner"));
        assertEquals("127.0.0.1:5672", status.get("connected_to"));
        assertEquals("connection refused", status.get("last_error"));
        assertEquals(true, status.get("bridge_waiting"));
        for (String column : List.of("owned_since", "connected_since", "last_confirm_at", "last_error_at")) {
            assertNotNull(status.get(column), column);
        }
    }

    @Test
    void aBacklogBeyondTheCapIsReportedAsCapped() throws SQLException {
        int broker = db.insertBroker();
        db.exec("insert into amqp.outbox (broker_id, exchange, body) select ?, 'ex', 'b' from generate_series(1, ?)",
                broker, CAP + 5);
        Map<String, Object> status = status(broker);
        assertEquals(CAP, status.get("backlog"));
        assertEquals(true, status.get("backlog_capped"));
        db.exec("delete from amqp.outbox where broker_id = ? and id > (select min(id) + 9 from amqp.outbox"
                + " where broker_id = ?)", broker, broker);
        assertEquals(10L, status(broker).get("backlog"));
        assertEquals(false, status(broker).get("backlog_capped"));
    }

    /**
     * With 200k rows queued for one broker, the plans run inside amqp.broker_status (seen through auto_explain) read
     * amqp.outbox through its primary key only, never with a scan of the whole table. No timing is asserted.
     */
    @Test
    void doesNotScanTheWholeOutbox() throws SQLException {
        try (TestDatabase big = TestServers.get().createDatabase("status_plan")) {
            int loaded = big.insertBroker();
            int quiet = big.insertBroker();
            big.exec("insert into amqp.outbox (broker_id, exchange, body) select ?, 'ex', repeat('x', 100)"
                    + " from generate_series(1, 200000)", loaded);
            big.exec("insert into amqp.outbox (broker_id, exchange, body) values (?, 'ex', 'b')", quiet);
            big.exec("analyze amqp.outbox");

            List<String> plans = nestedPlans(big, "select * from amqp.status");
            String all = String.join("\n", plans);
            assertTrue(all.contains("outbox_pkey on outbox"), all);
            assertFalse(all.contains("Seq Scan on outbox"), all);
            // The capped count stops after CAP + 1 index entries however long the backlog is.
            assertTrue(all.contains("(actual rows=" + (CAP + 1) + " loops=1)"), all);
        }
    }

    @Test
    void amqpAdminAndPgMonitorMayReadItOrdinaryRolesMayNot() throws SQLException {
        int broker = db.insertBroker();
        for (String grantedRole : List.of("amqp_admin", "pg_monitor")) {
            try (LoginRole role = new LoginRole()) {
                db.exec("grant " + grantedRole + " to " + role.name());
                try (Connection connection = role.connect(db)) {
                    assertFalse(Sql.rows(connection, "select * from amqp.status where broker_id = ?", broker).isEmpty(),
                            grantedRole);
                }
            }
        }
        try (LoginRole role = new LoginRole(); Connection connection = role.connect(db)) {
            assertServerErrorState(INSUFFICIENT_PRIVILEGE, () -> Sql.rows(connection, "select * from amqp.status"));
        }
    }

    private Map<String, Object> status(int broker) throws SQLException {
        List<Map<String, Object>> rows = Sql.rows(db, "select * from amqp.status where broker_id = ?", broker);
        assertEquals(1, rows.size(), rows::toString);
        return rows.get(0);
    }

    private void insertDeadLetters(int broker, int count) throws SQLException {
        db.exec("insert into amqp.dead_letter (outbox_id, message_id, broker_id, exchange, routing_key, body,"
                + " delivery_mode, created_at, attempts, reason)"
                + " select g, g::text, ?, 'ex', 'k', 'b', 2, now(), 1, 'unroutable' from generate_series(1, ?) g",
                broker, count);
    }

    private static double seconds(Object interval) {
        PGInterval value = (PGInterval) interval;
        assertNotNull(value);
        return ((value.getDays() * 24.0 + value.getHours()) * 60 + value.getMinutes()) * 60 + value.getSeconds();
    }

    /** The plans auto_explain logs for {@code sql} and the statements it runs, as LOG messages (timing off). */
    private static List<String> nestedPlans(TestDatabase database, String sql) throws SQLException {
        try (Connection connection = database.connect(); Statement statement = connection.createStatement()) {
            try {
                statement.execute("load 'auto_explain'");
            } catch (SQLException e) {
                Assumptions.abort("auto_explain is not available on this server: " + e.getMessage());
            }
            statement.execute("set auto_explain.log_min_duration = 0");
            statement.execute("set auto_explain.log_analyze = on");
            statement.execute("set auto_explain.log_timing = off");
            statement.execute("set auto_explain.log_nested_statements = on");
            statement.execute("set client_min_messages = log");
            statement.clearWarnings();
            statement.executeQuery(sql).close();
            List<String> plans = new ArrayList<>();
            for (SQLWarning w = statement.getWarnings(); w != null; w = w.getNextWarning()) {
                plans.add(w.getMessage());
            }
            assertFalse(plans.isEmpty(), "auto_explain logged nothing");
            return plans;
        }
    }
}
