package io.pgamqp.sql;

import static io.pgamqp.sql.ServerErrors.assertServerError;
import static io.pgamqp.sql.ServerErrors.assertServerErrorState;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** amqp.dead_letter_replay and amqp.dead_letter_purge: what they move or delete, their refusals, audit and privileges. */
class DeadLetterAdminPostgresTest {

    private static final String INSUFFICIENT_PRIVILEGE = "42501";

    private TestDatabase db;
    private int broker;
    private int other;

    @BeforeEach
    void createDatabase() throws SQLException {
        db = TestServers.get().createDatabase("dead_letter_admin");
        broker = db.insertBroker();
        other = db.insertBroker();
    }

    @AfterEach
    void dropDatabase() {
        if (db != null) {
            db.close();
        }
    }

    @Test
    void replayMovesDeadLettersBackInTheirOriginalOrderKeepingMessageIds() throws SQLException {
        // Dead-lettered in shuffled order (retries fail at different times): replay follows outbox_id, not id.
        List<Integer> outboxIds = new ArrayList<>();
        for (int i = 1; i <= 300; i++) {
            outboxIds.add(1000 + i);
        }
        Collections.shuffle(outboxIds, new Random(42));
        for (int outboxId : outboxIds) {
            deadLetter(broker, outboxId, "m-" + outboxId, Integer.toString(outboxId));
        }
        db.exec("select amqp.publish(?, 'ex', 'k', 'queued before the replay')", broker);

        long replayed;
        String replayTx;
        try (Connection connection = db.connect()) {
            connection.setAutoCommit(false);
            replayed = ((Number) Sql.value(connection, "select amqp.dead_letter_replay(broker_id => ?)", broker)).longValue();
            replayTx = (String) Sql.value(connection, "select pg_current_xact_id()::text");
            connection.commit();
        }

        assertEquals(300, replayed);
        assertEquals(0L, db.queryLong("select count(*) from amqp.dead_letter where broker_id = ?", broker));
        List<Map<String, Object>> outbox = Sql.outbox(db, broker);
        assertEquals(301, outbox.size());
        assertEquals("queued before the replay", outbox.get(0).get("body"), "replayed rows go after what was queued");
        List<Map<String, Object>> rows = outbox.subList(1, outbox.size());
        for (int i = 0; i < rows.size(); i++) {
            Map<String, Object> row = rows.get(i);
            int original = 1001 + i;
            assertEquals(Integer.toString(original), row.get("body"), "order");
            assertEquals("m-" + original, row.get("message_id"), "message_id kept");
            assertEquals(0, ((Number) row.get("attempts")).intValue());
            assertEquals(replayTx, row.get("tx_text"), "tx is the replaying transaction");
            assertEquals("p", row.get("kind").toString());
            assertEquals(null, row.get("last_error"));
        }

        Map<String, Object> audit = onlyAuditRow();
        assertEquals("replay", audit.get("action"));
        assertEquals(300L, audit.get("affected"));
        assertEquals(TestServers.get().dbUser(), audit.get("done_by"));
        assertEquals((long) broker, db.queryLong("select (filters->>'broker_id')::int from amqp.dead_letter_audit"));
    }

    @Test
    void replayWakesASleepingBridgeOnlyAfterCommit() throws SQLException {
        deadLetter(broker, 1, "1", "a");
        deadLetter(other, 2, "2", "b");
        db.exec("update amqp.broker_state set bridge_waiting_until = case when broker_id = ? then 'infinity'::timestamptz end", broker);
        try (NotificationProbe probe = new NotificationProbe(db, "amqp_outbox")) {
            try (Connection connection = db.connect()) {
                connection.setAutoCommit(false);
                Sql.value(connection, "select amqp.dead_letter_replay(all_dead_letters => true)");
                assertEquals(List.of(), probe.receivedSoFarAsText(), "nothing before commit");
                connection.commit();
            }
            assertEquals(List.of("amqp_outbox:" + broker), probe.receivedSoFarAsText());
        }
    }

    @Test
    void filtersCombineAndSelectOnlyWhatTheyMatch() throws SQLException {
        long oldA = deadLetter(broker, 1, "1", "old a");
        long newA = deadLetter(broker, 2, "2", "new a");
        long oldB = deadLetter(other, 3, "3", "old b");
        db.exec("update amqp.dead_letter set dead_lettered_at = now() - interval '2 days' where id in (?, ?)", oldA, oldB);

        assertEquals(0L, replay("older_than => interval '3 days'"));
        assertEquals(0L, replay("ids => '{}'::bigint[]"));
        assertEquals(1L, replay("broker_id => " + broker + ", older_than => interval '1 day'"));
        assertEquals(List.of("old a"), bodies(broker));

        assertEquals(1L, replay("ids => array[" + newA + ", " + oldB + "]::bigint[], broker_id => " + other));
        assertEquals(List.of("old b"), bodies(other));
        assertEquals(1L, db.queryLong("select count(*) from amqp.dead_letter where id = ?", newA), "not of that broker");

        assertEquals(1L, replay("ids => array[" + newA + "]::bigint[]"));
        assertEquals(0L, db.queryLong("select count(*) from amqp.dead_letter"));
        assertEquals(5L, db.queryLong("select count(*) from amqp.dead_letter_audit where action = 'replay'"),
                "every call is audited, also those that matched nothing");
    }

    @Test
    void withoutAnyFilterBothRefuseUnlessAllDeadLettersIsExplicit() throws SQLException {
        deadLetter(broker, 1, "1", "a");
        deadLetter(other, 2, "2", "b");
        for (String function : List.of("amqp.dead_letter_replay", "amqp.dead_letter_purge")) {
            assertServerError("22023", "no filter given", () -> db.exec("select " + function + "()"));
            assertServerError("22023", "no filter given",
                    () -> db.exec("select " + function + "(broker_id => null, ids => null, older_than => null)"));
            assertServerError("22023", "takes no other filter",
                    () -> db.exec("select " + function + "(broker_id => ?, all_dead_letters => true)", broker));
            assertServerError("22004", "all_dead_letters must not be null",
                    () -> db.exec("select " + function + "(broker_id => ?, all_dead_letters => null)", broker));
            assertServerError("22023", "negative",
                    () -> db.exec("select " + function + "(older_than => interval '-1 hour')"));
        }
        assertEquals(2L, db.queryLong("select count(*) from amqp.dead_letter"), "refusals change nothing");
        assertEquals(0L, db.queryLong("select count(*) from amqp.dead_letter_audit"));

        assertEquals(2L, db.queryLong("select amqp.dead_letter_purge(all_dead_letters => true)"));
        assertEquals(0L, db.queryLong("select count(*) from amqp.dead_letter"));
    }

    @Test
    void replayRefusesDeadLettersOfABrokerThatIsGone() throws SQLException {
        deadLetter(broker, 1, "1", "a");
        db.exec("delete from amqp.broker where broker_id = ?", broker);
        assertServerError("23503", "unknown broker_id " + broker,
                () -> db.exec("select amqp.dead_letter_replay(all_dead_letters => true)"));
        assertEquals(1L, db.queryLong("select count(*) from amqp.dead_letter"));
        assertEquals(1L, db.queryLong("select amqp.dead_letter_purge(broker_id => ?)", broker), "purging them works");
    }

    @Test
    void purgeDeletesTheMatchingDeadLettersAndAuditsIt() throws SQLException {
        deadLetter(broker, 1, "1", "a");
        deadLetter(broker, 2, "2", "b");
        long kept = deadLetter(other, 3, "3", "c");
        assertEquals(2L, db.queryLong("select amqp.dead_letter_purge(broker_id => ?)", broker));
        assertEquals(List.of(kept), Sql.rows(db, "select id from amqp.dead_letter").stream()
                .map(r -> ((Number) r.get("id")).longValue()).toList());
        assertEquals(0, Sql.outbox(db, broker).size(), "purged, not replayed");
        Map<String, Object> audit = onlyAuditRow();
        assertEquals("purge", audit.get("action"));
        assertEquals(2L, audit.get("affected"));
        assertTrue(audit.get("filters").toString().contains("\"all_dead_letters\": false"), audit::toString);
    }

    @Test
    void onlyAmqpAdminMembersMayReplayOrPurgeAndTheAuditNamesThem() throws SQLException {
        long id = deadLetter(broker, 1, "1", "a");
        try (LoginRole nobody = new LoginRole(); LoginRole publisher = new LoginRole(); LoginRole admin = new LoginRole()) {
            db.exec("grant amqp_publisher to " + publisher.name());
            db.exec("grant amqp_admin to " + admin.name());
            for (LoginRole refused : List.of(nobody, publisher)) {
                try (Connection connection = refused.connect(db)) {
                    assertServerErrorState(INSUFFICIENT_PRIVILEGE,
                            () -> Sql.value(connection, "select amqp.dead_letter_replay(broker_id => ?)", broker));
                    assertServerErrorState(INSUFFICIENT_PRIVILEGE,
                            () -> Sql.value(connection, "select amqp.dead_letter_purge(broker_id => ?)", broker));
                }
            }
            try (Connection connection = admin.connect(db)) {
                assertEquals(1, Sql.rows(connection, "select id from amqp.dead_letter").size(), "admins see them");
                assertEquals(1L, ((Number) Sql.value(connection, "select amqp.dead_letter_replay(ids => ?::bigint[])",
                        "{" + id + "}")).longValue());
                assertEquals(admin.name(), Sql.value(connection, "select done_by::text from amqp.dead_letter_audit"));
                assertServerErrorState(INSUFFICIENT_PRIVILEGE,
                        () -> Sql.rows(connection, "select * from amqp.outbox"));
            }
        }
        assertEquals(List.of("a"), bodies(broker));
    }

    /** Inserts a dead letter the way the bridge does; returns its id. */
    private long deadLetter(int brokerId, long outboxId, String messageId, String body) throws SQLException {
        return db.queryLong("insert into amqp.dead_letter (outbox_id, message_id, broker_id, exchange, routing_key, body,"
                + " delivery_mode, created_at, attempts, reason)"
                + " values (?, ?, ?, 'ex', 'k', ?, 2, now() - interval '1 minute', 5, 'unroutable') returning id",
                outboxId, messageId, brokerId, body);
    }

    private long replay(String arguments) throws SQLException {
        return db.queryLong("select amqp.dead_letter_replay(" + arguments + ")");
    }

    private List<Object> bodies(int brokerId) throws SQLException {
        return Sql.outbox(db, brokerId).stream().map(row -> row.get("body")).toList();
    }

    private Map<String, Object> onlyAuditRow() throws SQLException {
        List<Map<String, Object>> rows = Sql.rows(db, "select action, filters::text as filters, affected,"
                + " done_by::text as done_by, done_at from amqp.dead_letter_audit");
        assertEquals(1, rows.size(), rows::toString);
        return rows.get(0);
    }
}
