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
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code amqp.outbox_reclaim}: the outbox rewritten to give the space of settled rows back, every waiting row kept
 * exactly (id, transaction, attempts, every field), and nothing done when it cannot be done safely and quickly.
 */
class OutboxReclaimPostgresTest {
    private static final String ROWS = "select * from amqp.outbox order by id";

    private TestDatabase db;
    private int broker;

    @BeforeEach
    void createDatabase() throws SQLException {
        db = TestServers.get().createDatabase("reclaim");
        broker = db.insertBroker();
    }

    @AfterEach
    void dropDatabase() {
        if (db != null) {
            db.close();
        }
    }

    @Test
    void givesTheSpaceOfSettledRowsBackAndKeepsEveryWaitingRowAsItWas() throws SQLException {
        db.exec("select count(amqp.publish(?, 'ex', 'k', repeat('x', 300))) from generate_series(1, 20000)", broker);
        db.exec("select amqp.publish(?, 'ex', 'late', 'kept', 1, 'text/plain', 'reply', 'corr')", broker);
        db.exec("select amqp.exchange_declare(?, 'ex', 'topic', false, true)", broker);
        db.exec("update amqp.outbox set attempts = 2, last_error = 'refused once' where routing_key = 'late'");
        db.exec("delete from amqp.outbox where id <= (select min(id) + 19999 from amqp.outbox)"); // settled
        List<Map<String, Object>> waiting = Sql.rows(db, ROWS);
        assertEquals(2, waiting.size());
        long before = db.queryLong("select pg_total_relation_size('amqp.outbox')");

        assertEquals(before, db.queryLong("select amqp.outbox_reclaim()"));

        assertEquals(waiting, Sql.rows(db, ROWS), "the waiting rows, every column");
        long after = db.queryLong("select pg_total_relation_size('amqp.outbox')");
        assertTrue(after < before / 20, "from " + before + " to " + after + " bytes");
        db.exec("select amqp.publish(?, 'ex', 'k', 'next')", broker);
        assertTrue(db.queryLong("select max(id) from amqp.outbox where body = 'next'")
                > (Long) waiting.get(1).get("id"), "ids go on from where they were");
    }

    @Test
    void givesUpWithoutWaitingWhileATransactionWritesTheOutboxAndLosesNothingOfIt() throws SQLException {
        db.exec("select amqp.publish(?, 'ex', 'k', 'committed')", broker);
        try (Connection publisher = db.connect()) {
            publisher.setAutoCommit(false);
            Sql.value(publisher, "select amqp.publish(?, 'ex', 'k', 'in flight')", broker);
            long t0 = System.nanoTime();
            assertNull(reclaim("lock_wait => '50 ms'"));
            assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "it waited for the publisher's transaction");
            publisher.commit();
        }
        assertEquals(List.of("committed", "in flight"),
                Sql.rows(db, ROWS).stream().map(r -> r.get("body")).toList());
    }

    @Test
    void leavesABacklogOverMaxRowsAlone() throws SQLException {
        db.exec("select count(amqp.publish(?, 'ex', 'k', 'm')) from generate_series(1, 50)", broker);
        List<Map<String, Object>> waiting = Sql.rows(db, ROWS);
        assertNull(reclaim("max_rows => 49"));
        assertEquals(waiting, Sql.rows(db, ROWS));
    }

    @Test
    void refusesSnapshotsOlderThanItsStatementAndBadArguments() throws SQLException {
        try (Connection c = db.connect()) {
            c.setAutoCommit(false);
            Sql.exec(c, "set transaction isolation level repeatable read");
            assertServerError("25001", "READ COMMITTED", () -> Sql.value(c, "select amqp.outbox_reclaim()"));
            c.rollback();
            c.setAutoCommit(true);
            assertServerError("22023", "invalid", () -> Sql.value(c, "select amqp.outbox_reclaim(max_rows => -1)"));
            assertServerError("22023", "invalid",
                    () -> Sql.value(c, "select amqp.outbox_reclaim(lock_wait => '-1 second')"));
        }
    }

    /** amqp.outbox_reclaim(args) on a connection of its own: its result (null: not rewritten). */
    private Object reclaim(String args) throws SQLException {
        try (Connection c = db.connect()) {
            return Sql.value(c, "select amqp.outbox_reclaim(" + args + ")");
        }
    }
}
