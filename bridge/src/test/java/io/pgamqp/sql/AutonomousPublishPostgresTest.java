package io.pgamqp.sql;

import static io.pgamqp.sql.ServerErrors.assertServerError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.postgresql.util.ServerErrorMessage;

/** amqp.autonomous_publish: amqp.publish through dblink, committed independently of the caller's transaction. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AutonomousPublishPostgresTest {

    private TestDatabase db;

    @BeforeAll
    void createDatabase() throws SQLException {
        db = TestServers.get().createDatabase("autonomous");
    }

    @AfterAll
    void dropDatabase() {
        if (db != null) {
            db.close();
        }
    }

    @Test
    void survivesTheCallersRollbackAndIsVisibleWhileTheCallerIsStillOpen() throws SQLException {
        int broker = db.insertBroker();
        try (Connection caller = db.connect()) {
            caller.setAutoCommit(false);
            assertEquals(true, Sql.value(caller, "select amqp.autonomous_publish(?, 'ex', 'k', 'independent')", broker));
            Sql.value(caller, "select amqp.publish(?, 'ex', 'k', 'transactional')", broker);

            // Another session sees the autonomous row while the caller's transaction is open...
            assertEquals(List.of("independent"), bodies(broker));
            caller.rollback();
        }
        // ...and the caller's rollback takes only its own publish with it.
        assertEquals(List.of("independent"), bodies(broker));
    }

    @Test
    void argumentsArriveVerbatimWhateverTheyContain() throws SQLException {
        int broker = db.insertBroker();
        String hostile = "it's a \"test\" \\ $$ $fn$ E'\\x41' \n'); delete from amqp.outbox; --";
        try (Connection connection = db.connect()) {
            Sql.value(connection, "select amqp.autonomous_publish(?, ?, ?, ?, 1, ?, ?, ?)",
                    broker, "ex'1", "k\\2", hostile, "text/plain; charset=\"utf-8\"", "reply'q", "ünï'cödé");
            Sql.value(connection, "select amqp.autonomous_publish(broker_id := ?, exchange := 'x', routing_key := 'k',"
                    + " message := 'named', correlation_id := 'c')", broker);
        }
        List<Map<String, Object>> rows = Sql.outbox(db, broker);
        assertEquals(2, rows.size(), rows::toString);
        Map<String, Object> row = rows.get(0);
        assertEquals("ex'1", row.get("exchange"));
        assertEquals("k\\2", row.get("routing_key"));
        assertEquals(hostile, row.get("body"));
        assertEquals(1, ((Number) row.get("delivery_mode")).intValue());
        assertEquals("text/plain; charset=\"utf-8\"", row.get("content_type"));
        assertEquals("reply'q", row.get("reply_to"));
        assertEquals("ünï'cödé", row.get("correlation_id"));
        Map<String, Object> named = rows.get(1);
        assertEquals(List.of("x", "k", "named", "c", 2), List.of(named.get("exchange"), named.get("routing_key"),
                named.get("body"), named.get("correlation_id"), ((Number) named.get("delivery_mode")).intValue()));
    }

    /**
     * The optional fields travel through dblink as typed literals, and the trace context is the caller's session's
     * (the dblink session has none): it is merged into the headers before the remote call.
     */
    @Test
    void optionalFieldsAndTheCallersTraceContextArriveThroughDblink() throws SQLException {
        int broker = db.insertBroker();
        String traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        try (Connection caller = db.connect()) {
            caller.setAutoCommit(false);
            Sql.exec(caller, "set local amqp.traceparent = '" + traceparent + "'");
            Sql.value(caller, "select amqp.autonomous_publish(?, 'ex', 'k', 'fields', headers => '{\"it''s\": [1, 2.5]}',"
                    + " message_id => 'm''1', type => 't', app_id => 'a', expiration => interval '1.5 seconds',"
                    + " priority => 9, content_encoding => 'gzip')", broker);
            caller.rollback(); // autonomous: the row stays
        }
        List<Map<String, Object>> rows = Sql.rows(db, "select headers::text as headers, message_id, type, app_id,"
                + " expiration_ms, priority, content_encoding from amqp.outbox where broker_id = ?", broker);
        assertEquals(1, rows.size(), rows::toString);
        Map<String, Object> row = rows.get(0);
        assertEquals("{\"it's\": [1, 2.5], \"traceparent\": \"" + traceparent + "\"}", row.get("headers"));
        assertEquals(List.of("m'1", "t", "a", 1500L, 9, "gzip"), List.of(row.get("message_id"), row.get("type"),
                row.get("app_id"), ((Number) row.get("expiration_ms")).longValue(),
                ((Number) row.get("priority")).intValue(), row.get("content_encoding")));
    }

    @Test
    void errorsOfTheRemotePublishSurfaceUnchanged() throws SQLException {
        long rowsBefore = db.queryLong("select count(*) from amqp.outbox");
        try (Connection connection = db.connect()) {
            assertServerError("23503", "amqp.publish: unknown broker_id 987654",
                    () -> Sql.value(connection, "select amqp.autonomous_publish(987654, 'ex', 'k', 'm')"));
            int broker = db.insertBroker();
            assertServerError("22004", "amqp.publish: message must not be null",
                    () -> Sql.value(connection, "select amqp.autonomous_publish(?, 'ex', 'k', null)", broker));
            assertServerError("22023", "amqp.publish: delivery_mode 7 is invalid",
                    () -> Sql.value(connection, "select amqp.autonomous_publish(?, 'ex', 'k', 'm', 7)", broker));
        }
        assertEquals(rowsBefore, db.queryLong("select count(*) from amqp.outbox"), "nothing queued");
    }

    @Test
    void reusesOneNamedConnectionPerSession() throws SQLException {
        int broker = db.insertBroker();
        try (Connection connection = db.connect()) {
            Sql.value(connection, "select amqp.autonomous_publish(?, 'ex', 'k', 'again')", broker);
            int remotePid = remotePid(connection);
            Sql.value(connection, "select amqp.autonomous_publish(?, 'ex', 'k', 'again')", broker);
            Sql.value(connection, "select amqp.autonomous_publish(?, 'ex', 'k', 'again')", broker);
            assertEquals(remotePid, remotePid(connection));
            assertEquals("{pgamqp_autonomous}",
                    String.valueOf(Sql.value(connection, "select amqp.dblink_get_connections()::text")));
        }
        assertEquals(3, bodies(broker).size());
    }

    @Test
    void reconnectsWhenItsConnectionWasTerminated() throws SQLException, InterruptedException {
        int broker = db.insertBroker();
        try (Connection connection = db.connect()) {
            Sql.value(connection, "select amqp.autonomous_publish(?, 'ex', 'k', 'first')", broker);
            int remotePid = remotePid(connection);
            db.exec("select pg_terminate_backend(?)", remotePid);
            long deadline = System.currentTimeMillis() + 10_000;
            while (db.queryLong("select count(*) from pg_stat_activity where pid = ?", remotePid) > 0) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException("terminated dblink session " + remotePid + " did not go away");
                }
                Thread.sleep(20);
            }

            Sql.value(connection, "select amqp.autonomous_publish(?, 'ex', 'k', 'second')", broker);
            assertNotEquals(remotePid, remotePid(connection));
        }
        assertEquals(List.of("first", "second"), bodies(broker));
    }

    @Test
    void unreachableServerNamesTheSettingInTheHint() throws SQLException {
        try (Connection connection = db.connect()) {
            // A superuser's session may point it anywhere; port 1 refuses connections.
            Sql.exec(connection, "set amqp.autonomous_conninfo = 'host=127.0.0.1 port=1 connect_timeout=5'");
            ServerErrorMessage error = assertServerError("08001", "amqp.autonomous_publish: cannot connect",
                    () -> Sql.value(connection, "select amqp.autonomous_publish(1, 'ex', 'k', 'm')"));
            assertTrue(error.getHint().contains("amqp.autonomous_conninfo"), error::getHint);
        }
    }

    @Test
    void conninfoWithAPasswordIsRefusedWithoutEchoingIt() throws SQLException {
        int broker = db.insertBroker();
        for (String conninfo : List.of("host=127.0.0.1 user=postgres password=s3cret-value",
                "postgresql://postgres:s3cret-value@127.0.0.1/postgres")) {
            try (Connection connection = db.connect()) {
                Sql.exec(connection, "set amqp.autonomous_conninfo = '" + conninfo + "'");
                ServerErrorMessage error = assertServerError("22023", "holds a password",
                        () -> Sql.value(connection, "select amqp.autonomous_publish(?, 'ex', 'k', 'm')", broker));
                assertTrue(error.getHint().contains("create user mapping"), error::getHint);
                assertFalse(String.valueOf(error).contains("s3cret-value"), String.valueOf(error));
            }
        }
        assertEquals(List.of(), bodies(broker));
    }

    @Test
    void conninfoSetByAnOrdinarySessionIsRefused() throws SQLException {
        int broker = db.insertBroker();
        try (LoginRole role = new LoginRole(); Connection connection = role.connect(db)) {
            Sql.exec(connection, "set amqp.autonomous_conninfo = 'host=127.0.0.1 user=postgres'");
            assertServerError("42501", "amqp.autonomous_conninfo",
                    () -> Sql.value(connection, "select amqp.autonomous_publish(?, 'ex', 'k', 'm')", broker));
        }
        assertEquals(List.of(), bodies(broker));
    }

    @Test
    void conninfoConfiguredByASuperuserIsUsed() throws SQLException {
        int broker = db.insertBroker();
        String port = String.valueOf(Sql.rows(db, "select current_setting('port') as p").get(0).get("p"));
        try (LoginRole role = new LoginRole()) {
            db.exec("alter role " + role.name() + " in database " + db.name()
                    + " set amqp.autonomous_conninfo = 'host=127.0.0.1 port=" + port + " dbname=" + db.name()
                    + " user=" + role.name() + " application_name=configured_autonomous'");
            try (Connection connection = role.connect(db)) {
                Sql.value(connection, "select amqp.autonomous_publish(?, 'ex', 'k', 'via setting')", broker);
                assertEquals(1L, db.queryLong("select count(*) from pg_stat_activity"
                        + " where application_name = 'configured_autonomous' and usename = ?", role.name()));
            } finally {
                db.exec("alter role " + role.name() + " in database " + db.name() + " reset all");
            }
        }
        assertEquals(List.of("via setting"), bodies(broker));
    }

    @Test
    void missingDblinkIsAnErrorThatSaysHowToInstallIt() throws SQLException {
        try (TestDatabase withoutDblink = TestServers.get().createDatabase("no_dblink")) {
            withoutDblink.exec("drop extension dblink");
            int broker = withoutDblink.insertBroker();
            try (Connection connection = withoutDblink.connect()) {
                ServerErrorMessage error = assertServerError("55000", "dblink",
                        () -> Sql.value(connection, "select amqp.autonomous_publish(?, 'ex', 'k', 'm')", broker));
                assertTrue(error.getHint().contains("create extension dblink"), error::getHint);
                // amqp.publish does not depend on it.
                assertEquals(true, Sql.value(connection, "select amqp.publish(?, 'ex', 'k', 'm')", broker));
            }
        }
    }

    /** The backend pid behind the caller's kept dblink connection (the tests run as a superuser, who may use it). */
    private static int remotePid(Connection caller) throws SQLException {
        return ((Number) Sql.value(caller,
                "select t.pid from amqp.dblink('pgamqp_autonomous', 'select pg_backend_pid()') as t(pid int)")).intValue();
    }

    private List<Object> bodies(int broker) throws SQLException {
        return Sql.outbox(db, broker).stream().map(row -> row.get("body")).toList();
    }
}
