package io.pgamqp.sql;

import static io.pgamqp.sql.ServerErrors.assertServerError;
import static io.pgamqp.sql.ServerErrors.assertServerErrorState;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** amqp.publish_many against PostgreSQL: rows and their order, transactional behaviour, validation, wake-ups, grants. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PublishManyFunctionPostgresTest {

    private static final int SMALL_MAX_BODY_BYTES = 10;

    private TestDatabase db;
    /** Broker with max_body_bytes = 10 that the bad-input cases publish to; never gets a row. */
    private int rejectingBroker;

    @BeforeAll
    void createDatabase() throws SQLException {
        db = TestServers.get().createDatabase("publish_many");
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
    void committedBatchQueuesOneRowPerMessageInArrayOrderWithDefaults() throws SQLException {
        int broker = db.insertBroker();
        String xid;
        try (Connection connection = db.connect()) {
            connection.setAutoCommit(false);
            assertEquals(3, Sql.value(connection,
                    "select amqp.publish_many(?, 'ex.many', array['key.a'], array['first', 'second', 'third'])", broker));
            xid = (String) Sql.value(connection, "select pg_current_xact_id()::text");
            connection.commit();
        }

        List<Map<String, Object>> rows = Sql.outbox(db, broker);
        assertEquals(List.of("first", "second", "third"), rows.stream().map(row -> row.get("body")).toList(),
                "ids follow the array order");
        for (Map<String, Object> row : rows) {
            assertEquals("p", row.get("kind"));
            assertEquals("ex.many", row.get("exchange"));
            assertEquals("key.a", row.get("routing_key"), "a single routing key is every message's");
            assertEquals(2, ((Number) row.get("delivery_mode")).intValue());
            assertNull(row.get("content_type"));
            assertNull(row.get("reply_to"));
            assertNull(row.get("correlation_id"));
            assertNull(row.get("message_id"));
            assertEquals(xid, row.get("tx_text"), "tx is the publishing transaction");
            assertEquals(0, ((Number) row.get("attempts")).intValue());
        }
    }

    @Test
    void perMessageRoutingKeysAndCorrelationIdsAndSharedPropertiesAreStored() throws SQLException {
        int broker = db.insertBroker();
        try (Connection connection = db.connect()) {
            assertEquals(3, Sql.value(connection, "select amqp.publish_many(?, 'ex', array['k1', 'k2', 'k3'],"
                    + " array['b1', 'b2', 'b3'], 1, 'application/json', 'reply.q', array['c1', null, 'c3'])", broker));
        }
        List<Map<String, Object>> rows = Sql.outbox(db, broker);
        assertEquals(List.of("k1", "k2", "k3"), column(rows, "routing_key"));
        assertEquals(List.of("b1", "b2", "b3"), column(rows, "body"));
        assertEquals(Arrays.asList("c1", null, "c3"), column(rows, "correlation_id"));
        for (Map<String, Object> row : rows) {
            assertEquals(1, ((Number) row.get("delivery_mode")).intValue());
            assertEquals("application/json", row.get("content_type"));
            assertEquals("reply.q", row.get("reply_to"));
        }
    }

    /** The usual call: bodies aggregated from a query (text[], coerced to varchar[]), ids in aggregate order. */
    @Test
    void thousandsOfMessagesFromArrayAggKeepTheirOrder() throws SQLException {
        int broker = db.insertBroker();
        int count = 5_000;
        try (Connection connection = db.connect()) {
            assertEquals(count, Sql.value(connection, "select amqp.publish_many(?, 'ex', array_agg('k' || g % 7 order by g),"
                    + " array_agg('body-' || g order by g)) from generate_series(1, ?) g", broker, count));
        }
        List<Map<String, Object>> rows = Sql.outbox(db, broker);
        assertEquals(IntStream.rangeClosed(1, count).mapToObj(g -> "body-" + g).toList(), column(rows, "body"));
        assertEquals(IntStream.rangeClosed(1, count).mapToObj(g -> "k" + g % 7).toList(), column(rows, "routing_key"));
    }

    @Test
    void namedArgumentsWork() throws SQLException {
        int broker = db.insertBroker();
        try (Connection connection = db.connect()) {
            Sql.value(connection, "select amqp.publish_many(messages => array['m1', 'm2'], routing_keys => array['k'],"
                    + " exchange => 'x', broker_id => ?, correlation_ids => array['c1', 'c2'])", broker);
        }
        assertEquals(List.of("c1", "c2"), column(Sql.outbox(db, broker), "correlation_id"));
    }

    @Test
    void rolledBackBatchQueuesNothing() throws SQLException {
        int broker = db.insertBroker();
        try (Connection connection = db.connect()) {
            connection.setAutoCommit(false);
            Sql.value(connection, "select amqp.publish_many(?, 'ex', array['k'], array['never', 'ever'])", broker);
            connection.rollback();
        }
        assertEquals(List.of(), Sql.outbox(db, broker));
    }

    @Test
    void rollbackToSavepointDropsOnlyTheBatchInsideIt() throws SQLException {
        int broker = db.insertBroker();
        try (Connection connection = db.connect()) {
            connection.setAutoCommit(false);
            Sql.value(connection, "select amqp.publish_many(?, 'ex', array['k'], array['before-1', 'before-2'])", broker);
            Sql.exec(connection, "savepoint s");
            Sql.value(connection, "select amqp.publish_many(?, 'ex', array['k'], array['inside-1', 'inside-2'])", broker);
            Sql.exec(connection, "rollback to savepoint s");
            Sql.value(connection, "select amqp.publish(?, 'ex', 'k', 'single')", broker);
            Sql.value(connection, "select amqp.publish_many(?, 'ex', array['k'], array['after'])", broker);
            connection.commit();
        }
        assertEquals(List.of("before-1", "before-2", "single", "after"), column(Sql.outbox(db, broker), "body"));
    }

    @Test
    void emptyBatchQueuesNothingAndReturnsZero() throws SQLException {
        int broker = db.insertBroker();
        db.exec("update amqp.broker_state set bridge_waiting_until = 'infinity' where broker_id = ?", broker);
        try (NotificationProbe probe = new NotificationProbe(db, "amqp_outbox");
             Connection connection = db.connect()) {
            assertEquals(0, Sql.value(connection, "select amqp.publish_many(?, 'ex', array['k'], '{}')", broker));
            assertEquals(0, Sql.value(connection, "select amqp.publish_many(?, 'ex', '{}', '{}', null, null, null, '{}')",
                    broker));
            // What array_agg over no rows passes: NULL, not '{}'.
            assertEquals(0, Sql.value(connection, "select amqp.publish_many(?, 'ex', array['k'], array_agg(b))"
                    + " from (select 'x'::varchar as b where false) none", broker));
            assertEquals(List.of(), probe.receivedSoFarAsText(), "nothing queued, nobody woken");
        }
        assertEquals(List.of(), Sql.outbox(db, broker));
    }

    /** Bodies may be as large as max_body_bytes, counted in bytes; a one-element batch is a batch. */
    @Test
    void bodyOfExactlyMaxBodyBytesIsAccepted() throws SQLException {
        int broker = db.insertBroker();
        db.exec("update amqp.broker_state set max_body_bytes = 10 where broker_id = ?", broker);
        try (Connection connection = db.connect()) {
            Sql.value(connection, "select amqp.publish_many(?, '', array['q'], array['ééééé'])", broker);
        }
        assertEquals(List.of("ééééé"), column(Sql.outbox(db, broker), "body"));
    }

    static Stream<Arguments> badInputs() {
        String tooLong = "repeat('x', 256)";
        return Stream.of(
                Arguments.of("unknown broker_id", "select amqp.publish_many(987654, 'ex', array['k'], array['m'])",
                        "23503", "amqp.publish_many: unknown broker_id 987654"),
                Arguments.of("unknown broker_id, empty batch", "select amqp.publish_many(987654, 'ex', array['k'], '{}')",
                        "23503", "amqp.publish_many: unknown broker_id 987654"),
                Arguments.of("NULL broker_id", "select amqp.publish_many(null, 'ex', array['k'], array['m'])",
                        "22004", "amqp.publish_many: broker_id must not be null"),
                Arguments.of("NULL exchange", "select amqp.publish_many(%d, null, array['k'], array['m'])",
                        "22004", "amqp.publish_many: exchange must not be null"),
                Arguments.of("NULL routing_keys", "select amqp.publish_many(%d, 'ex', null, array['m'])",
                        "22004", "amqp.publish_many: routing_keys must not be null"),
                Arguments.of("NULL message element", "select amqp.publish_many(%d, 'ex', array['k'], array['m', 'm', null])",
                        "22004", "amqp.publish_many: messages[3] must not be null"),
                Arguments.of("NULL routing key element",
                        "select amqp.publish_many(%d, 'ex', array['k', null, 'k'], array['m', 'm', 'm'])",
                        "22004", "amqp.publish_many: routing_keys[2] must not be null"),
                Arguments.of("NULL single routing key", "select amqp.publish_many(%d, 'ex', array[null]::varchar[], array['m', 'm'])",
                        "22004", "amqp.publish_many: routing_keys[1] must not be null"),
                Arguments.of("the first bad element is named",
                        "select amqp.publish_many(%d, 'ex', array['k'], array['m', '12345678901', null])",
                        "54000", "amqp.publish_many: messages[2] of 11 bytes exceeds max_body_bytes 10"),
                Arguments.of("subscripts follow the array's lower bound",
                        "select amqp.publish_many(%d, 'ex', array['k'], '[0:2]={a,b,NULL}')",
                        "22004", "amqp.publish_many: messages[2] must not be null"),
                Arguments.of("more routing keys than messages",
                        "select amqp.publish_many(%d, 'ex', array['k1', 'k2', 'k3'], array['m1', 'm2'])",
                        "22023", "amqp.publish_many: routing_keys has 3 elements but messages has 2"),
                Arguments.of("fewer routing keys than messages",
                        "select amqp.publish_many(%d, 'ex', array['k1', 'k2'], array['m1', 'm2', 'm3'])",
                        "22023", "amqp.publish_many: routing_keys has 2 elements but messages has 3"),
                Arguments.of("routing keys for an empty batch",
                        "select amqp.publish_many(%d, 'ex', array['k1', 'k2'], '{}')",
                        "22023", "amqp.publish_many: routing_keys has 2 elements but messages has 0"),
                Arguments.of("fewer correlation ids than messages",
                        "select amqp.publish_many(%d, 'ex', array['k'], array['m1', 'm2'], null, null, null, array['c1'])",
                        "22023", "amqp.publish_many: correlation_ids has 1 elements but messages has 2"),
                Arguments.of("two-dimensional messages",
                        "select amqp.publish_many(%d, 'ex', array['k'], array[array['a', 'b'], array['c', 'd']])",
                        "22023", "amqp.publish_many: messages must be a one-dimensional array"),
                Arguments.of("exchange too long", "select amqp.publish_many(%d, " + tooLong + ", array['k'], array['m'])",
                        "22001", "amqp.publish_many: exchange is 256 bytes long, AMQP allows at most 255"),
                Arguments.of("single routing key too long",
                        "select amqp.publish_many(%d, 'ex', array[" + tooLong + "], array['m'])",
                        "22001", "amqp.publish_many: routing_keys[1] is 256 bytes long"),
                Arguments.of("routing key element too long (bytes, not characters)",
                        "select amqp.publish_many(%d, 'ex', array['k', repeat('é', 128)], array['m', 'm'])",
                        "22001", "amqp.publish_many: routing_keys[2] is 256 bytes long"),
                Arguments.of("content_type too long",
                        "select amqp.publish_many(%d, 'ex', array['k'], array['m'], 2, " + tooLong + ")",
                        "22001", "amqp.publish_many: content_type is 256 bytes long"),
                Arguments.of("reply_to too long",
                        "select amqp.publish_many(%d, 'ex', array['k'], array['m'], 2, null, " + tooLong + ")",
                        "22001", "amqp.publish_many: reply_to is 256 bytes long"),
                Arguments.of("correlation id element too long",
                        "select amqp.publish_many(%d, 'ex', array['k'], array['m', 'm'], 2, null, null, array[null, "
                                + tooLong + "])",
                        "22001", "amqp.publish_many: correlation_ids[2] is 256 bytes long"),
                Arguments.of("delivery_mode 3", "select amqp.publish_many(%d, 'ex', array['k'], array['m'], 3)",
                        "22023", "amqp.publish_many: delivery_mode 3 is invalid"),
                Arguments.of("delivery_mode before elements",
                        "select amqp.publish_many(%d, 'ex', array['k'], array[null], 0)",
                        "22023", "amqp.publish_many: delivery_mode 0 is invalid"),
                Arguments.of("body above max_body_bytes",
                        "select amqp.publish_many(%d, 'ex', array['k'], array['ok', 'éééééé'])",
                        "54000", "amqp.publish_many: messages[2] of 12 bytes exceeds max_body_bytes 10 of broker_id"));
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
    void aBadElementTakesTheWholeBatchAndNothingElseOfTheSavepoint() throws SQLException {
        int broker = db.insertBroker();
        try (Connection connection = db.connect()) {
            connection.setAutoCommit(false);
            Sql.value(connection, "select amqp.publish(?, 'ex', 'k', 'kept')", broker);
            Sql.exec(connection, "savepoint s");
            assertServerError("22004", "messages[2] must not be null", () -> Sql.rows(connection,
                    "select amqp.publish_many(?, 'ex', array['k'], array['good', null, 'good'])", broker));
            Sql.exec(connection, "rollback to savepoint s");
            connection.commit();
        }
        assertEquals(List.of("kept"), column(Sql.outbox(db, broker), "body"));
    }

    @Test
    void noWakeUpWhileTheBridgeIsNotWaiting() throws SQLException {
        int broker = db.insertBroker(); // no wake-up request by default
        try (NotificationProbe probe = new NotificationProbe(db, "amqp_outbox");
             Connection connection = db.connect()) {
            Sql.value(connection, "select amqp.publish_many(?, 'ex', array['k'], array['quiet', 'too'])", broker);
            assertEquals(List.of(), probe.receivedSoFarAsText());
        }
        assertEquals(List.of("quiet", "too"), column(Sql.outbox(db, broker), "body"));
    }

    @Test
    void wakesTheWaitingBridgeOnceWithTheBrokerIdAtCommit() throws SQLException {
        int broker = db.insertBroker();
        db.exec("update amqp.broker_state set bridge_waiting_until = 'infinity' where broker_id = ?", broker);
        try (NotificationProbe probe = new NotificationProbe(db, "amqp_outbox");
             Connection connection = db.connect()) {
            connection.setAutoCommit(false);
            Sql.value(connection, "select amqp.publish_many(?, 'ex', array['k'], array['one', 'two', 'three'])", broker);
            Sql.value(connection, "select amqp.publish_many(?, 'ex', array['k'], array['four'])", broker);
            assertEquals(List.of(), probe.receivedSoFarAsText(), "nothing before commit");
            connection.commit();
            assertEquals(List.of("amqp_outbox:" + broker), probe.receivedSoFarAsText(),
                    "one notification per transaction and broker");
        }
    }

    @Test
    void noWakeUpFromARejectedBatchEvenWhileTheBridgeWaits() throws SQLException {
        int broker = db.insertBroker();
        db.exec("update amqp.broker_state set bridge_waiting_until = 'infinity', max_body_bytes = 3 where broker_id = ?", broker);
        try (NotificationProbe probe = new NotificationProbe(db, "amqp_outbox");
             Connection connection = db.connect()) {
            assertServerError("54000", "messages[2] of 4 bytes", () -> Sql.rows(connection,
                    "select amqp.publish_many(?, 'ex', array['k'], array['abc', 'abcd'])", broker));
            assertEquals(List.of(), probe.receivedSoFarAsText());
        }
    }

    @Test
    void amqpPublisherMembersMayCallItButRolesWithOnlyPublicPrivilegesMayNot() throws SQLException {
        int broker = db.insertBroker();
        try (LoginRole role = new LoginRole()) {
            try (Connection connection = role.connect(db)) {
                assertServerErrorState("42501", () -> Sql.rows(connection,
                        "select amqp.publish_many(?, 'ex', array['k'], array['refused'])", broker));
            }
            db.exec("grant amqp_publisher to " + role.name());
            try (Connection connection = role.connect(db)) {
                assertEquals(2, Sql.value(connection,
                        "select amqp.publish_many(?, 'ex', array['k'], array['from', 'publisher'])", broker));
            }
        }
        assertEquals(List.of("from", "publisher"), column(Sql.outbox(db, broker), "body"));
    }

    private static List<Object> column(List<Map<String, Object>> rows, String name) {
        return rows.stream().map(row -> row.get(name)).toList();
    }
}
