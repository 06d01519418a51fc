package io.pgamqp.sql;

import static io.pgamqp.sql.ServerErrors.assertServerError;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The probe's finding: any PUBLIC role could publish to any broker, the outbox could grow without bound, and
 * declarations could never be removed. Per broker, opt-in: amqp.broker_state.publisher_role (only its members
 * publish), max_pending_rows (beyond it publish raises an ERROR with a HINT), and amqp.exchange_undeclare. A broker
 * without them behaves as before (pg_amqp's way).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BrokerPolicyPostgresTest {

    private TestDatabase db;
    private String group;

    @BeforeAll
    void createDatabase() throws SQLException {
        db = TestServers.get().createDatabase("broker_policy");
        group = "pgamqp_pub_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        db.exec("create role " + group + " nologin");
    }

    @AfterAll
    void dropDatabase() throws SQLException {
        if (db != null) {
            db.exec("drop role if exists " + group);
            db.close();
        }
    }

    @Test
    void withoutLimitsAnyRolePublishesAsInPgAmqp() throws SQLException {
        int broker = db.insertBroker();
        try (LoginRole anyone = new LoginRole(); Connection c = anyone.connect(db)) {
            for (int i = 0; i < 5; i++) {
                assertEquals(true, Sql.value(c, "select amqp.publish(?, 'ex', 'k', 'm')", broker));
            }
            assertEquals(true, Sql.value(c, "select amqp.exchange_declare(?, 'e', 'direct', false, true)", broker));
        }
    }

    @Test
    void onlyMembersOfTheBrokersPublisherRolePublish() throws SQLException {
        int broker = db.insertBroker();
        db.exec("update amqp.broker_state set publisher_role = ? where broker_id = ?", group, broker);
        try (LoginRole outsider = new LoginRole(); LoginRole member = new LoginRole();
             Connection out = outsider.connect(db); Connection in = member.connect(db)) {
            db.exec("grant " + group + " to " + member.name());
            for (String call : new String[] {"select amqp.publish(" + broker + ", 'orders', 'k', 'forged')",
                "select amqp.exchange_declare(" + broker + ", 'orders', 'direct', false, true)",
                "select amqp.autonomous_publish(" + broker + ", 'orders', 'k', 'forged')"}) {
                assertServerError("42501", "may not publish to broker_id " + broker, () -> Sql.value(out, call));
            }
            db.exec("grant amqp_publisher to " + outsider.name());
            assertServerError("42501", "may not publish", () -> Sql.value(out,
                "select amqp.publish_many(" + broker + ", 'orders', array['k'], array['a', 'b'])"));
            assertServerError("42501", "may not publish", () -> Sql.value(out,
                "select amqp.exchange_undeclare(" + broker + ", 'orders')"));

            assertEquals(true, Sql.value(in, "select amqp.publish(?, 'orders', 'k', 'mine')", broker));
            try (Connection owner = db.connect()) { // the owner, as ever, may
                assertEquals(true, Sql.value(owner, "select amqp.publish(?, 'orders', 'k', 'owner')", broker));
            }
            assertEquals(2L, db.queryLong("select count(*) from amqp.outbox where broker_id = ?", broker));
            db.exec("revoke " + group + " from " + member.name());
            db.exec("revoke amqp_publisher from " + outsider.name());
        }
    }

    @Test
    void beyondTheQuotaPublishRaisesAnErrorWithAHintAndQueuesNothing() throws SQLException {
        int broker = db.insertBroker();
        int other = db.insertBroker();
        db.exec("update amqp.broker_state set max_pending_rows = 3 where broker_id = ?", broker);
        try (Connection c = db.connect()) {
            for (int i = 0; i < 3; i++) {
                Sql.value(c, "select amqp.publish(?, 'ex', 'k', 'm')", broker);
                Sql.value(c, "select amqp.publish(?, 'ex', 'k', 'interleaved')", other); // ids of another broker
            }
            assertServerError("53400", "has 3 messages waiting", () -> Sql.value(c,
                "select amqp.publish(?, 'ex', 'k', 'one too many')", broker));
            assertServerError("53400", "quota", () -> Sql.value(c,
                "select amqp.exchange_declare(?, 'e', 'direct', false, true)", broker));
            assertEquals(true, Sql.value(c, "select amqp.publish(?, 'ex', 'k', 'no quota here')", other));
            db.exec("delete from amqp.outbox where id = (select min(id) from amqp.outbox where broker_id = ?)", broker);
            assertServerError("53400", "has 2 messages waiting", () -> Sql.value(c,
                "select amqp.publish_many(?, 'ex', array['k'], array['a', 'b'])", broker));
            assertEquals(1, Sql.value(c, "select amqp.publish_many(?, 'ex', array['k'], array['fits'])", broker));
        }
        assertEquals(3L, db.queryLong("select count(*) from amqp.outbox where broker_id = ?", broker));
    }

    @Test
    void undeclareRemovesADeclarationFromTheRedeclareSet() throws SQLException {
        int broker = db.insertBroker();
        db.exec("select amqp.exchange_declare(?, 'kept', 'topic', false, true)", broker);
        db.exec("select amqp.exchange_declare(?, 'typo', 'topic', false, true)", broker);
        try (Connection c = db.connect()) {
            assertEquals(true, Sql.value(c, "select amqp.exchange_undeclare(?, 'typo')", broker));
            assertEquals(false, Sql.value(c, "select amqp.exchange_undeclare(?, 'typo')", broker));
            assertServerError("23503", "unknown broker_id", () -> Sql.value(c,
                "select amqp.exchange_undeclare(-1, 'typo')"));
        }
        try (Connection c = db.connect()) {
            assertEquals("kept", Sql.value(c,
                "select string_agg(exchange, ',') from amqp.exchange_declaration where broker_id = ?", broker));
        }
        assertEquals(1L, db.queryLong("select count(*) from amqp.outbox where broker_id = ? and kind = 'd'", broker));
        try (LoginRole anyone = new LoginRole(); Connection c = anyone.connect(db)) {
            ServerErrors.assertServerErrorState("42501", () -> Sql.value(c,
                "select amqp.exchange_undeclare(" + broker + ", 'kept')"));
        }
    }
}
