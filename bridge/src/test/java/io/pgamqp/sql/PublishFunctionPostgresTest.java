package io.pgamqp.sql;

import static io.pgamqp.sql.ServerErrors.assertServerError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** amqp.publish against PostgreSQL: what lands in amqp.outbox, transactional behaviour, validation, wake-ups. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PublishFunctionPostgresTest {

    private static final int SMALL_MAX_BODY_BYTES = 10;

    private TestDatabase db;
    /** Broker with max_body_bytes = 10 that the bad-input cases publish to; never gets a row. */
    private int rejectingBroker;

    @BeforeAll
    void createDatabase() throws SQLException {
        db = TestServers.get().createDatabase("publish");
        rejectingBroker = db.insertBroker();
        db.exec("update amqp.broker_state set max_body_bytes = ? where broker_id = ?", SMALL_MAX_BODY_BYTES,
                rejectingBroker);
    }

    @AfterAll
    void dropDatabase() {
        if (db != null) {
            db.close();
        }
    }

    @Test
    void committedPublishQueuesOneRowWithDefaults() throws SQLException {
        int broker = db.insertBroker();
        String xid;
        try (Connection connection = db.connect()) {
            connection.setAutoCommit(false);
            assertEquals(true, Sql.value(connection, "select amqp.publish(?, 'ex.commit', 'key.a', 'hello')", broker));
            xid = (String) Sql.value(connection, "select pg_current_xact_id()::text");
            connection.commit();
        }

        List<Map<String, Object>> rows = Sql.outbox(db, broker);
        assertEquals(1, rows.size(), rows::toString);
        Map<String, Object> row = rows.get(0);
        assertEquals("p", row.get("kind"));
        assertEquals("ex.commit", row.get("exchange"));
        assertEquals("key.a", row.get("routing_key"));
        assertEquals("hello", row.get("body"));
        assertEquals(2, ((Number) row.get("delivery_mode")).intValue());
        assertNull(row.get("content_type"));
        assertNull(row.get("reply_to"));
        assertNull(row.get("correlation_id"));
        assertNull(row.get("message_id"), "message_id stays null: the bridge uses id::text");
        assertEquals(xid, row.get("tx_text"), "tx is the publishing transaction");
        assertEquals(0, ((Number) row.get("attempts")).intValue());
        assertNull(row.get("last_error"));
        assertNotNull(row.get("created_at"));
    }

    @Test
    void rolledBackPublishQueuesNothing() throws SQLException {
        int broker = db.insertBroker();
        try (Connection connection = db.connect()) {
            connection.setAutoCommit(false);
            Sql.value(connection, "select amqp.publish(?, 'ex', 'k', 'never')", broker);
            connection.rollback();
        }
        assertEquals(List.of(), Sql.outbox(db, broker));
    }

    @Test
    void rollbackToSavepointDropsOnlyThePublishInsideIt() throws SQLException {
        int broker = db.insertBroker();
        try (Connection connection = db.connect()) {
            connection.setAutoCommit(false);
            Sql.value(connection, "select amqp.publish(?, 'ex', 'k', 'before')", broker);
            Sql.exec(connection, "savepoint s");
            Sql.value(connection, "select amqp.publish(?, 'ex', 'k', 'inside')", broker);
            Sql.exec(connection, "rollback to savepoint s");
            Sql.value(connection, "select amqp.publish(?, 'ex', 'k', 'after')", broker);
            connection.commit();
        }
        assertEquals(List.of("before", "after"), bodies(broker));
    }

    @Test
    void eightArgumentCallStoresEveryProperty() throws SQLException {
        int broker = db.insertBroker();
        try (Connection connection = db.connect()) {
            Sql.value(connection, "select amqp.publish(?, 'ex8', 'k8', 'body8', 1, 'application/json', 'reply.q', 'corr-1')",
                    broker);
        }
        Map<String, Object> row = Sql.outbox(db, broker).get(0);
        assertEquals("ex8", row.get("exchange"));
        assertEquals("k8", row.get("routing_key"));
        assertEquals("body8", row.get("body"));
        assertEquals(1, ((Number) row.get("delivery_mode")).intValue());
        assertEquals("application/json", row.get("content_type"));
        assertEquals("reply.q", row.get("reply_to"));
        assertEquals("corr-1", row.get("correlation_id"));
    }

    @Test
    void namedArgumentCallsAsInPgAmqpWork() throws SQLException {
        int broker = db.insertBroker();
        try (Connection connection = db.connect()) {
            Sql.value(connection, "select amqp.publish(broker_id := ?, exchange := 'x', routing_key := 'k', message := 'm')",
                    broker);
            // Named notation may skip optional arguments and reorder the rest.
            Sql.value(connection, "select amqp.publish(message => 'm2', routing_key => 'k2', exchange => 'x2',"
                    + " broker_id => ?, correlation_id => 'c2')", broker);
        }
        List<Map<String, Object>> rows = Sql.outbox(db, broker);
        assertEquals(2, rows.size(), rows::toString);
        assertEquals(List.of("x", "k", "m"),
                List.of(rows.get(0).get("exchange"), rows.get(0).get("routing_key"), rows.get(0).get("body")));
        assertEquals(List.of("x2", "k2", "m2", "c2"), List.of(rows.get(1).get("exchange"),
                rows.get(1).get("routing_key"), rows.get(1).get("body"), rows.get(1).get("correlation_id")));
        assertEquals(2, ((Number) rows.get(1).get("delivery_mode")).intValue());
    }

    @Test
    void emptyExchangeMeansTheDefaultExchange() throws SQLException {
        int broker = db.insertBroker();
        try (Connection connection = db.connect()) {
            Sql.value(connection, "select amqp.publish(?, '', 'some.queue', 'to the default exchange')", broker);
        }
        assertEquals("", Sql.outbox(db, broker).get(0).get("exchange"));
    }

    @Test
    void bodyOfExactlyMaxBodyBytesIsAccepted() throws SQLException {
        int broker = db.insertBroker();
        db.exec("update amqp.broker_state set max_body_bytes = 10 where broker_id = ?", broker);
        String tenBytesFiveChars = "ééééé";
        try (Connection connection = db.connect()) {
            Sql.value(connection, "select amqp.publish(?, 'ex', 'k', ?)", broker, tenBytesFiveChars);
        }
        assertEquals(List.of(tenBytesFiveChars), bodies(broker));
    }

    /** pg_amqp declared its functions IMMUTABLE, so the planner could fold identical calls into one. */
    @Test
    void identicalCallsInOneQueryEachPublish() throws SQLException {
        int broker = db.insertBroker();
        try (Connection connection = db.connect()) {
            Sql.rows(connection, "select amqp.publish(?, 'ex', 'k', 'same') from generate_series(1, 3)", broker);
        }
        assertEquals(List.of("same", "same", "same"), bodies(broker));
    }

    static Stream<Arguments> badInputs() {
        return Stream.of(
                Arguments.of("unknown broker_id", "select amqp.publish(987654, 'ex', 'k', 'm')",
                        "23503", "amqp.publish: unknown broker_id 987654"),
                Arguments.of("NULL broker_id", "select amqp.publish(null, 'ex', 'k', 'm')",
                        "22004", "amqp.publish: broker_id must not be null"),
                Arguments.of("NULL exchange", "select amqp.publish(%d, null, 'k', 'm')",
                        "22004", "amqp.publish: exchange must not be null"),
                Arguments.of("NULL routing_key", "select amqp.publish(%d, 'ex', null, 'm')",
                        "22004", "amqp.publish: routing_key must not be null"),
                Arguments.of("NULL message", "select amqp.publish(%d, 'ex', 'k', null)",
                        "22004", "amqp.publish: message must not be null"),
                Arguments.of("delivery_mode 3", "select amqp.publish(%d, 'ex', 'k', 'm', 3)",
                        "22023", "amqp.publish: delivery_mode 3 is invalid"),
                Arguments.of("delivery_mode 0", "select amqp.publish(%d, 'ex', 'k', 'm', 0)",
                        "22023", "amqp.publish: delivery_mode 0 is invalid"),
                Arguments.of("body above max_body_bytes", "select amqp.publish(%d, 'ex', 'k', '12345678901')",
                        "54000", "amqp.publish: message of 11 bytes exceeds max_body_bytes 10"),
                Arguments.of("multi-byte body above max_body_bytes (bytes count, not characters)",
                        "select amqp.publish(%d, 'ex', 'k', 'éééééé')",
                        "54000", "amqp.publish: message of 12 bytes exceeds max_body_bytes 10"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badInputs")
    void badInputRaisesErrorWithHintAndQueuesNothing(String label, String sqlTemplate, String sqlState,
            String message) throws SQLException {
        long rowsBefore = db.queryLong("select count(*) from amqp.outbox");
        String sql = sqlTemplate.formatted(rejectingBroker);
        try (Connection connection = db.connect()) {
            assertServerError(sqlState, message, () -> Sql.rows(connection, sql));
        }
        assertEquals(rowsBefore, db.queryLong("select count(*) from amqp.outbox"), "nothing queued");
    }

    @Test
    void noWakeUpWhileTheBridgeIsNotWaiting() throws SQLException {
        int broker = db.insertBroker(); // no wake-up request by default
        try (NotificationProbe probe = new NotificationProbe(db, "amqp_outbox");
             Connection connection = db.connect()) {
            Sql.value(connection, "select amqp.publish(?, 'ex', 'k', 'quiet')", broker);
            assertEquals(List.of(), probe.receivedSoFarAsText());
        }
        assertEquals(List.of("quiet"), bodies(broker));
    }

    @Test
    void aLapsedWakeUpRequestCostsNoNotification() throws SQLException {
        int broker = db.insertBroker();
        // What a bridge killed while asleep leaves behind once its lease ran out.
        db.exec("update amqp.broker_state set bridge_waiting_until = now() - interval '1 second' where broker_id = ?",
                broker);
        try (NotificationProbe probe = new NotificationProbe(db, "amqp_outbox");
             Connection connection = db.connect()) {
            Sql.value(connection, "select amqp.publish(?, 'ex', 'k', 'lapsed')", broker);
            assertEquals(List.of(), probe.receivedSoFarAsText());
        }
        assertEquals(List.of("lapsed"), bodies(broker));
    }

    @Test
    void wakesTheWaitingBridgeWithTheBrokerIdAtCommit() throws SQLException {
        int broker = db.insertBroker();
        db.exec("update amqp.broker_state set bridge_waiting_until = 'infinity' where broker_id = ?", broker);
        try (NotificationProbe probe = new NotificationProbe(db, "amqp_outbox");
             Connection connection = db.connect()) {
            connection.setAutoCommit(false);
            Sql.value(connection, "select amqp.publish(?, 'ex', 'k', 'one')", broker);
            Sql.value(connection, "select amqp.publish(?, 'ex', 'k', 'two')", broker);
            assertEquals(List.of(), probe.receivedSoFarAsText(), "nothing before commit");
            connection.commit();
            assertEquals(List.of("amqp_outbox:" + broker), probe.receivedSoFarAsText(),
                    "one notification per transaction and broker");
        }
    }

    /**
     * The bridge's commit-order safety needs the transaction's xid to exist before the outbox id's nextval. No single
     * session can observe the order, so check that the code takes the xid in a statement before the INSERT.
     */
    @ParameterizedTest
    @ValueSource(strings = {
        "amqp.publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar, jsonb, varchar, varchar,"
            + " varchar, interval, integer, varchar, timestamptz)",
        "amqp.enqueue(text, integer, varchar, varchar, varchar, bytea, integer, varchar, varchar, varchar, jsonb, varchar,"
            + " varchar, varchar, interval, integer, varchar, timestamptz)",
        "amqp.publish_many(integer, varchar, varchar[], varchar[], integer, varchar, varchar, varchar[], jsonb, varchar[],"
            + " timestamptz)",
        "amqp.scheduled_release(integer, integer)",
        "amqp.exchange_declare(integer, varchar, varchar, boolean, boolean, boolean, jsonb)",
        "amqp.declaration_request(text, integer, text, varchar, varchar, varchar, jsonb, boolean, boolean, boolean)"})
    void transactionIdIsObtainedBeforeTheOutboxInsert(String function) throws SQLException {
        String source = (String) Sql.rows(db, "select prosrc from pg_proc where oid = ?::regprocedure", function)
                .get(0).get("prosrc");
        int xid = source.indexOf("v_tx := pg_catalog.pg_current_xact_id();");
        int insert = source.indexOf("insert into amqp.outbox");
        assertTrue(xid >= 0 && insert > xid, () -> function + " must take the xid before inserting:\n" + source);
        assertTrue(source.substring(insert).contains("v_tx"), "the insert uses that xid");
    }

    private List<Object> bodies(int broker) throws SQLException {
        return Sql.outbox(db, broker).stream().map(row -> row.get("body")).toList();
    }
}
