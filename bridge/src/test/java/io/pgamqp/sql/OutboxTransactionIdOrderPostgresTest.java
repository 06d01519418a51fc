package io.pgamqp.sql;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The bridge's commit-order tracking needs every transaction that holds an outbox id to have its xid already (see the
 * comment on amqp.outbox.tx). Observed from outside: while a function waits for the id sequence (another session
 * holds it locked by an open ALTER SEQUENCE), its transaction must already show an xid in pg_stat_activity.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OutboxTransactionIdOrderPostgresTest {

    private TestDatabase db;
    private int broker;

    @BeforeAll
    void createDatabase() throws SQLException {
        db = TestServers.get().createDatabase("xid_order");
        broker = db.insertBroker();
    }

    @AfterAll
    void dropDatabase() {
        if (db != null) {
            db.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "select amqp.publish(%d, 'ex', 'k', 'one')",
        "select amqp.publish_many(%d, 'ex', array['k'], array['first', 'second'])",
        "select amqp.exchange_declare(%d, 'ex', 'direct', false, true)"})
    void theTransactionHasItsXidBeforeTakingAnOutboxId(String template) throws Exception {
        String call = template.formatted(broker);
        try (Connection locker = db.connect(); Connection caller = db.connect()) {
            int callerPid = ((Number) Sql.value(caller, "select pg_backend_pid()")).intValue();
            locker.setAutoCommit(false);
            // Holds the sequence's ACCESS EXCLUSIVE lock (without changing it) until rollback: nextval waits for it.
            Sql.exec(locker, "alter sequence amqp.outbox_id_seq cache 1");
            caller.setAutoCommit(false);
            CompletableFuture<Object> publishing = CompletableFuture.supplyAsync(() -> {
                try {
                    return Sql.value(caller, call);
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            try {
                Eventually.until("the call waits for the outbox id sequence", Duration.ofSeconds(10),
                        () -> waitsForTheSequence(callerPid));
                List<Map<String, Object>> activity = Sql.rows(db,
                        "select backend_xid::text as xid from pg_stat_activity where pid = ?", callerPid);
                assertNotNull(activity.get(0).get("xid"), () -> call + " took an outbox id before its xid");
            } finally {
                locker.rollback();
            }
            publishing.get(10, TimeUnit.SECONDS);
            caller.commit();
        }
    }

    private boolean waitsForTheSequence(int pid) throws SQLException {
        return db.queryLong("select count(*) from pg_locks where pid = ? and not granted"
                + " and relation = 'amqp.outbox_id_seq'::regclass", pid) == 1;
    }
}
