package io.pgamqp.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code deliver_at} in SQL: a future one queues the message in {@code amqp.scheduled} with every field, a past or
 * null one in the outbox; {@code amqp.scheduled_release} moves due messages into the outbox in due order, with
 * ids after everything queued before, and says when the next one is due.
 */
class ScheduledPostgresTest {
    private TestDatabase db;
    private int broker;

    @BeforeEach
    void createDatabase() throws SQLException {
        db = TestServers.get().createDatabase("scheduled");
        broker = db.insertBroker();
    }

    @AfterEach
    void dropDatabase() {
        if (db != null) {
            db.close();
        }
    }

    @Test
    void aFutureDeliverAtQueuesEveryFieldInScheduledAndAPastOneInTheOutbox() throws SQLException {
        db.exec("select amqp.publish(?, 'ex', 'k', 'later', 1, 'text/plain', 'reply', 'corr', '{\"h\": 1}', 'mid',"
                + " 'type', 'app', interval '5 seconds', 7, 'gzip', now() + interval '1 hour')", broker);
        db.exec("select amqp.publish_bytes(?, 'ex', 'k', '\\x00ff'::bytea, deliver_at => now() + interval '1 hour')",
                broker);
        db.exec("select amqp.publish(?, 'ex', 'k', 'past', deliver_at => now() - interval '1 second')", broker);
        db.exec("select amqp.publish_json(?, 'ex', 'k', '{\"a\": 1}', deliver_at => null)", broker);

        assertEquals(List.of("past", "{\"a\": 1}"), Sql.outbox(db, broker).stream().map(r -> r.get("body")).toList());
        List<Map<String, Object>> scheduled = Sql.rows(db, "select exchange, routing_key, body, delivery_mode,"
                + " content_type, reply_to, correlation_id, message_id, headers::text as headers, type, app_id,"
                + " expiration_ms, priority, content_encoding, encode(body_bytes, 'hex') as bytes from amqp.scheduled"
                + " order by id");
        assertEquals(2, scheduled.size());
        Map<String, Object> first = scheduled.get(0);
        assertEquals("later", first.get("body"));
        assertEquals(1, ((Number) first.get("delivery_mode")).intValue());
        assertEquals("text/plain", first.get("content_type"));
        assertEquals("reply", first.get("reply_to"));
        assertEquals("corr", first.get("correlation_id"));
        assertEquals("mid", first.get("message_id"));
        assertEquals("{\"h\": 1}", first.get("headers"));
        assertEquals("type", first.get("type"));
        assertEquals("app", first.get("app_id"));
        assertEquals(5000L, ((Number) first.get("expiration_ms")).longValue());
        assertEquals(7, ((Number) first.get("priority")).intValue());
        assertEquals("gzip", first.get("content_encoding"));
        assertEquals("00ff", scheduled.get(1).get("bytes"));
        assertEquals("application/octet-stream", scheduled.get(1).get("content_type"));
    }

    @Test
    void releaseMovesDueMessagesInDueOrderAfterWhatIsQueuedAndTellsTheNextDueTime() throws SQLException {
        // Published first, due last; published last, due first; two due together keep their publish order.
        db.exec("select amqp.publish(?, 'ex', 'k', 'c', deliver_at => clock_timestamp() + interval '0.3 s')", broker);
        db.exec("select amqp.publish_many(?, 'ex', array['k'], array['b1', 'b2'],"
                + " deliver_at => clock_timestamp() + interval '0.2 s')", broker);
        db.exec("select amqp.publish(?, 'ex', 'k', 'a', deliver_at => clock_timestamp() + interval '0.1 s')", broker);
        db.exec("select amqp.publish(?, 'ex', 'k', 'next week', deliver_at => now() + interval '7 days')", broker);
        db.exec("select amqp.publish(?, 'ex', 'k', 'now')", broker);

        Map<String, Object> none = Sql.rows(db, "select * from amqp.scheduled_release(?, 100)", broker).get(0);
        assertEquals(0, none.get("released"), "nothing is due yet");
        double in = ((Number) none.get("next_due_in")).doubleValue();
        assertTrue(in > 0 && in <= 0.1, "the next is due in " + in + " s");

        db.exec("select pg_sleep(0.35)");
        Map<String, Object> moved = Sql.rows(db, "select * from amqp.scheduled_release(?, 100)", broker).get(0);
        assertEquals(4, moved.get("released"));
        double week = ((Number) moved.get("next_due_in")).doubleValue();
        assertTrue(week > 6.9 * 86400 && week <= 7 * 86400, "next week: " + week);
        assertEquals(List.of("now", "a", "b1", "b2", "c"),
                Sql.outbox(db, broker).stream().map(r -> r.get("body")).toList());
        assertEquals(1, db.queryLong("select count(*) from amqp.scheduled"));
        assertEquals(0, db.queryLong("select count(*) from amqp.outbox where created_at < now() - interval '1 s'"),
                "a released message is as old as its due time, not its publish");
        assertEquals(1, db.queryLong("select scheduled from amqp.status where broker_id = ?", broker));
        assertEquals(1, db.queryLong("select count(*) from amqp.status where next_due_at > now() + interval '6 days'"));

        db.exec("delete from amqp.scheduled");
        Map<String, Object> empty = Sql.rows(db, "select * from amqp.scheduled_release(?, 100)", broker).get(0);
        assertEquals(0, empty.get("released"));
        assertNull(empty.get("next_due_in"), "none scheduled");
    }

    @Test
    void releaseTakesAtMostMaxRowsAndARolledBackDelayedPublishLeavesNothing() throws SQLException {
        db.exec("select amqp.publish_many(?, 'ex', array['k'], array(select i::text from generate_series(1, 5) i),"
                + " deliver_at => clock_timestamp() + interval '0.05 s')", broker);
        db.exec("begin; select amqp.publish(" + broker + ", 'ex', 'k', 'rolled back',"
                + " deliver_at => now() + interval '1 hour'); rollback");
        assertEquals(5, db.queryLong("select count(*) from amqp.scheduled"), "the rolled-back one is not there");
        db.exec("select pg_sleep(0.1)");
        assertEquals(3, Sql.rows(db, "select * from amqp.scheduled_release(?, 3)", broker).get(0).get("released"));
        Map<String, Object> rest = Sql.rows(db, "select * from amqp.scheduled_release(?, 3)", broker).get(0);
        assertEquals(2, rest.get("released"));
        assertEquals(List.of("1", "2", "3", "4", "5"), Sql.outbox(db, broker).stream().map(r -> r.get("body")).toList());
    }

    @Test
    void deferSetsARefusedMessageAsideWithItsAttemptAndIdAndReleaseBringsItBackAsItWas() throws SQLException {
        db.exec("select amqp.publish(?, 'ex', 'k', 'refused', content_type => 'text/plain')", broker);
        db.exec("select amqp.publish(?, 'ex', 'k', 'own-id', message_id => 'chosen')", broker);
        List<Map<String, Object>> before = Sql.outbox(db, broker);
        long refused = ((Number) before.get(0).get("id")).longValue();
        long ownId = ((Number) before.get(1).get("id")).longValue();
        assertEquals(2, ((Number) Sql.rows(db, "select amqp.outbox_defer(?, array[?, ?]::bigint[],"
                + " array['406 once', 'nacked']::text[], array[100, 3600000]::bigint[]) as n", broker, refused, ownId)
                .get(0).get("n")).intValue());
        assertEquals(0, db.queryLong("select count(*) from amqp.outbox"));
        assertEquals(1, db.queryLong("select count(*) from amqp.scheduled where body = 'refused' and attempts = 1"
                + " and last_error = '406 once' and message_id = ? and content_type = 'text/plain'"
                + " and deliver_at > now() and deliver_at < clock_timestamp() + interval '1 s'",
                String.valueOf(refused)), "the AMQP message-id stays the original outbox id");
        assertEquals(1, db.queryLong("select count(*) from amqp.scheduled where body = 'own-id'"
                + " and message_id = 'chosen' and deliver_at > now() + interval '59 minutes'"));

        db.exec("select pg_sleep(0.15)");
        assertEquals(1, Sql.rows(db, "select * from amqp.scheduled_release(?, 100)", broker).get(0).get("released"));
        Map<String, Object> back = Sql.outbox(db, broker).get(0);
        assertEquals("refused", back.get("body"));
        assertEquals(1, ((Number) back.get("attempts")).intValue());
        assertEquals("406 once", back.get("last_error"));
        assertEquals(String.valueOf(refused), back.get("message_id"));
        assertTrue(((Number) back.get("id")).longValue() > ownId, "behind what was queued meanwhile");
        assertEquals(before.get(0).get("created_at"), back.get("created_at"), "its own time, not its retry's");
    }
}
