package io.pgamqp.sql;

import static io.pgamqp.sql.ServerErrors.assertServerError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** amqp.disconnect: a NOTIFY amqp_disconnect carrying the broker_id, delivered only when the caller commits. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DisconnectFunctionPostgresTest {

    private TestDatabase db;

    @BeforeAll
    void createDatabase() throws SQLException {
        db = TestServers.get().createDatabase("disconnect");
    }

    @AfterAll
    void dropDatabase() {
        if (db != null) {
            db.close();
        }
    }

    @Test
    void notifiesTheBrokerIdOnlyAtCommit() throws SQLException {
        int broker = db.insertBroker();
        try (NotificationProbe probe = new NotificationProbe(db, "amqp_disconnect");
             Connection connection = db.connect()) {
            connection.setAutoCommit(false);
            Sql.value(connection, "select amqp.disconnect(?)", broker);
            assertEquals(List.of(), probe.receivedSoFarAsText(), "nothing before commit");
            connection.commit();
            assertEquals(List.of("amqp_disconnect:" + broker), probe.receivedSoFarAsText());
        }
    }

    @Test
    void rolledBackDisconnectSendsNothing() throws SQLException {
        int broker = db.insertBroker();
        try (NotificationProbe probe = new NotificationProbe(db, "amqp_disconnect");
             Connection connection = db.connect()) {
            connection.setAutoCommit(false);
            Sql.value(connection, "select amqp.disconnect(?)", broker);
            connection.rollback();
            assertEquals(List.of(), probe.receivedSoFarAsText());
        }
    }

    @Test
    void pgAmqpDisconnectAllIdiomNotifiesEveryBroker() throws SQLException {
        int first = db.insertBroker();
        int second = db.insertBroker();
        Set<String> expected = new TreeSet<>();
        for (Object id : Sql.rows(db, "select distinct broker_id::text as id from amqp.broker").stream()
                .map(row -> row.get("id")).toList()) {
            expected.add("amqp_disconnect:" + id);
        }
        assertTrue(expected.containsAll(Set.of("amqp_disconnect:" + first, "amqp_disconnect:" + second)));
        try (NotificationProbe probe = new NotificationProbe(db, "amqp_disconnect");
             Connection connection = db.connect()) {
            Sql.rows(connection, "select amqp.disconnect(broker_id) from amqp.broker");
            assertEquals(expected, new TreeSet<>(probe.receivedSoFarAsText()));
        }
    }

    @Test
    void unknownBrokerIsAnErrorWithHint() throws SQLException {
        try (NotificationProbe probe = new NotificationProbe(db, "amqp_disconnect");
             Connection connection = db.connect()) {
            assertServerError("23503", "amqp.disconnect: unknown broker_id 987654",
                    () -> Sql.value(connection, "select amqp.disconnect(987654)"));
            assertEquals(List.of(), probe.receivedSoFarAsText());
        }
    }

    @Test
    void nullBrokerIdIsIgnoredLikeAnyStrictFunction() throws SQLException {
        try (NotificationProbe probe = new NotificationProbe(db, "amqp_disconnect");
             Connection connection = db.connect()) {
            assertNull(Sql.value(connection, "select amqp.disconnect(null)::text"));
            assertEquals(List.of(), probe.receivedSoFarAsText());
        }
    }
}
