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

/** The amqp.broker trigger: amqp.broker_state follows the broker_ids in amqp.broker, and the bridge is told. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BrokerStatePostgresTest {

    private TestDatabase db;

    @BeforeAll
    void createDatabase() throws SQLException {
        db = TestServers.get().createDatabase("broker_state");
    }

    @AfterAll
    void dropDatabase() {
        if (db != null) {
            db.close();
        }
    }

    @Test
    void insertedBrokerGetsStateWithDefaults() throws SQLException {
        int broker = db.insertBroker();
        List<Map<String, Object>> state = state(broker);
        assertEquals(1, state.size(), state::toString);
        assertEquals(8388608, ((Number) state.get(0).get("max_body_bytes")).intValue());
        assertEquals("dead_letter", state.get(0).get("on_unroutable"));
        assertNull(state.get(0).get("bridge_waiting_until"));
    }

    @Test
    void failoverRowsShareOneStateRowUntilTheLastIsDeleted() throws SQLException {
        int broker = db.insertBroker();
        db.exec("insert into amqp.broker (broker_id, host, port) values (?, 'standby.example', 5672)", broker);
        assertEquals(1, state(broker).size());

        db.exec("delete from amqp.broker where broker_id = ? and host = 'standby.example'", broker);
        assertEquals(1, state(broker).size(), "one host left");

        db.exec("delete from amqp.broker where broker_id = ?", broker);
        assertEquals(List.of(), state(broker));
    }

    @Test
    void updatingABrokerKeepsItsSettings() throws SQLException {
        int broker = db.insertBroker();
        db.exec("update amqp.broker_state set max_body_bytes = 1234, on_unroutable = 'drop' where broker_id = ?",
                broker);
        db.exec("update amqp.broker set vhost = 'other', password = 'changed' where broker_id = ?", broker);
        Map<String, Object> state = state(broker).get(0);
        assertEquals(1234, ((Number) state.get("max_body_bytes")).intValue());
        assertEquals("drop", state.get("on_unroutable"));
    }

    @Test
    void addingAFailoverHostKeepsTheBrokersSettings() throws SQLException {
        int broker = db.insertBroker();
        db.exec("update amqp.broker_state set max_body_bytes = 777 where broker_id = ?", broker);
        db.exec("insert into amqp.broker (broker_id, host, port) values (?, 'another-standby.example', 5672)", broker);
        assertEquals(777, ((Number) state(broker).get(0).get("max_body_bytes")).intValue());
    }

    /** What lets pg_dump's data (restored after amqp.broker's, whose trigger made default rows) keep the settings. */
    @Test
    void insertingAnExistingBrokerIdReplacesItsRow() throws SQLException {
        int broker = db.insertBroker();
        db.exec("insert into amqp.broker_state (broker_id, max_body_bytes, on_unroutable, owner)"
                + " values (?, 55, 'drop', 'restored')", broker);
        List<Map<String, Object>> state = state(broker);
        assertEquals(1, state.size(), state::toString);
        assertEquals(55, ((Number) state.get(0).get("max_body_bytes")).intValue());
        assertEquals("drop", state.get(0).get("on_unroutable"));
        assertEquals("restored", state.get(0).get("owner"));
    }

    @Test
    void truncateRemovesAllState() throws SQLException {
        db.insertBroker();
        try (Connection connection = db.connect()) {
            connection.setAutoCommit(false);
            Sql.exec(connection, "truncate amqp.broker");
            assertEquals(0L, ((Number) Sql.value(connection, "select count(*) from amqp.broker_state")).longValue());
            connection.rollback(); // leave the other tests' brokers alone
        }
    }

    @Test
    void brokerChangesNotifyTheBridge() throws SQLException {
        try (NotificationProbe probe = new NotificationProbe(db, "amqp_broker_changed")) {
            int broker = db.insertBroker();
            db.exec("update amqp.broker set port = 5673 where broker_id = ?", broker);
            db.exec("delete from amqp.broker where broker_id = ?", broker);
            assertEquals(List.of("amqp_broker_changed:", "amqp_broker_changed:", "amqp_broker_changed:"),
                    probe.receivedSoFarAsText());
        }
    }

    private List<Map<String, Object>> state(int broker) throws SQLException {
        return Sql.rows(db, "select * from amqp.broker_state where broker_id = ?", broker);
    }
}
