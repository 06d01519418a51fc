package io.pgamqp.sql;

import static io.pgamqp.sql.ServerErrors.assertServerError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

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

/** amqp.exchange_declare: a pending row in amqp.exchange_declaration plus a kind 'd' outbox row, transactionally. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExchangeDeclarePostgresTest {

    private TestDatabase db;

    @BeforeAll
    void createDatabase() throws SQLException {
        db = TestServers.get().createDatabase("declare");
    }

    @AfterAll
    void dropDatabase() {
        if (db != null) {
            db.close();
        }
    }

    @Test
    void recordsAPendingDeclarationAndQueuesItForTheBridge() throws SQLException {
        int broker = db.insertBroker();
        String xid;
        try (Connection connection = db.connect()) {
            connection.setAutoCommit(false);
            assertEquals(true, Sql.value(connection,
                    "select amqp.exchange_declare(?, 'orders', 'topic', false, true, false)", broker));
            xid = (String) Sql.value(connection, "select pg_current_xact_id()::text");
            connection.commit();
        }

        Map<String, Object> declaration = declarations(broker).get(0);
        assertEquals("orders", declaration.get("exchange"));
        assertEquals("topic", declaration.get("exchange_type"));
        assertEquals(List.of(false, true, false), List.of(declaration.get("passive"), declaration.get("durable"),
                declaration.get("auto_delete")));
        assertEquals("pending", declaration.get("status"));
        assertNull(declaration.get("applied_at"));
        assertNull(declaration.get("last_error"));

        List<Map<String, Object>> outbox = Sql.outbox(db, broker);
        assertEquals(1, outbox.size(), outbox::toString);
        Map<String, Object> row = outbox.get(0);
        assertEquals("d", row.get("kind"));
        assertEquals("orders", row.get("exchange"));
        assertEquals("", row.get("routing_key"));
        assertNull(row.get("body"));
        assertEquals(xid, row.get("tx_text"));
    }

    @Test
    void autoDeleteDefaultsToFalse() throws SQLException {
        int broker = db.insertBroker();
        try (Connection connection = db.connect()) {
            Sql.value(connection, "select amqp.exchange_declare(?, 'five.args', 'fanout', false, true)", broker);
        }
        assertEquals(false, declarations(broker).get(0).get("auto_delete"));
    }

    @Test
    void rolledBackDeclarationLeavesNoTrace() throws SQLException {
        int broker = db.insertBroker();
        try (Connection connection = db.connect()) {
            connection.setAutoCommit(false);
            Sql.value(connection, "select amqp.exchange_declare(?, 'never', 'direct', false, true, false)", broker);
            connection.rollback();
        }
        assertEquals(List.of(), declarations(broker));
        assertEquals(List.of(), Sql.outbox(db, broker));
    }

    @Test
    void declaringAgainReplacesTheRequestAndResetsItsOutcome() throws SQLException {
        int broker = db.insertBroker();
        try (Connection connection = db.connect()) {
            Sql.value(connection, "select amqp.exchange_declare(?, 'again', 'direct', false, true, false)", broker);
            Sql.exec(connection, "update amqp.exchange_declaration set status = 'failed', applied_at = now(),"
                    + " last_error = 'PRECONDITION_FAILED' where broker_id = ?", broker);
            Sql.value(connection, "select amqp.exchange_declare(?, 'again', 'x-consistent-hash', false, false, true)",
                    broker);
        }
        List<Map<String, Object>> declarations = declarations(broker);
        assertEquals(1, declarations.size(), declarations::toString);
        Map<String, Object> declaration = declarations.get(0);
        assertEquals("x-consistent-hash", declaration.get("exchange_type"), "plugin types (x-...) are accepted");
        assertEquals(List.of(false, true), List.of(declaration.get("durable"), declaration.get("auto_delete")));
        assertEquals("pending", declaration.get("status"));
        assertNull(declaration.get("applied_at"));
        assertNull(declaration.get("last_error"));
        assertEquals(2, Sql.outbox(db, broker).size(), "each request is queued");
    }

    static Stream<Arguments> badInputs() {
        return Stream.of(
                Arguments.of("unknown broker_id", "select amqp.exchange_declare(987654, 'e', 'direct', false, true)",
                        "23503", "amqp.exchange_declare: unknown broker_id 987654"),
                Arguments.of("unknown exchange type", "select amqp.exchange_declare(%d, 'e', 'bogus', false, true)",
                        "22023", "amqp.exchange_declare: unknown exchange_type 'bogus'"),
                Arguments.of("the default exchange ''", "select amqp.exchange_declare(%d, '', 'direct', false, true)",
                        "22023", "amqp.exchange_declare: cannot declare the default exchange"),
                Arguments.of("NULL exchange", "select amqp.exchange_declare(%d, null, 'direct', false, true)",
                        "22004", "amqp.exchange_declare: exchange must not be null"),
                Arguments.of("NULL exchange_type", "select amqp.exchange_declare(%d, 'e', null, false, true)",
                        "22004", "amqp.exchange_declare: exchange_type must not be null"),
                Arguments.of("NULL durable", "select amqp.exchange_declare(%d, 'e', 'direct', false, null)",
                        "22004", "amqp.exchange_declare: passive, durable and auto_delete must not be null"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badInputs")
    void badInputRaisesErrorWithHintAndRecordsNothing(String label, String sqlTemplate, String sqlState,
            String message) throws SQLException {
        int broker = db.insertBroker();
        String sql = sqlTemplate.formatted(broker);
        try (Connection connection = db.connect()) {
            assertServerError(sqlState, message, () -> Sql.rows(connection, sql));
        }
        assertEquals(0L, db.queryLong("select count(*) from amqp.exchange_declaration where broker_id in (?, 987654)",
                broker));
        assertEquals(0L, db.queryLong("select count(*) from amqp.outbox where broker_id in (?, 987654)", broker));
    }

    private List<Map<String, Object>> declarations(int broker) throws SQLException {
        return Sql.rows(db, "select * from amqp.exchange_declaration where broker_id = ? order by exchange", broker);
    }
}
