package io.pgamqp.sql;

import static io.pgamqp.sql.ServerErrors.assertServerErrorState;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** How the functions are declared, and what a role with nothing but PUBLIC's privileges may do. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FunctionPrivilegesPostgresTest {

    private static final String INSUFFICIENT_PRIVILEGE = "42501";

    /** The amqp schema's own functions (dblink's, when it lives in amqp, belong to the extension). */
    private static final String OWN_FUNCTIONS = "from pg_proc p join pg_language l on l.oid = p.prolang where p.pronamespace = 'amqp'::regnamespace"
            + " and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid"
            + " and d.deptype = 'e')";
    // Plain SQL wrappers, inlined into the caller's query, and a helper that runs only inside SECURITY DEFINER
    // functions (both without SECURITY DEFINER or SET, which would cost every publish; see their headers).
    private static final String WRAPPERS = "('publish_json', 'publish_bytes')";
    private static final String UNPINNED =
            "('publish_json', 'publish_bytes', 'message_headers', 'message_is_bad', 'message_refuse')";

    private TestDatabase db;
    private int broker;

    @BeforeAll
    void createDatabase() throws SQLException {
        db = TestServers.get().createDatabase("privileges");
        broker = db.insertBroker();
    }

    @AfterAll
    void dropDatabase() {
        if (db != null) {
            db.close();
        }
    }

    @Test
    void everyFunctionIsVolatileSecurityDefinerWithAPinnedSearchPath() throws SQLException {
        List<Map<String, Object>> functions = Sql.rows(db, "select p.proname::text as name,"
                + " p.provolatile::text as volatility, p.prosecdef as definer, array_to_string(p.proconfig, ';') as config "
                + OWN_FUNCTIONS + " and p.proname not in " + UNPINNED + " order by 1");
        assertEquals(List.of("autonomous_publish", "broker_changed", "broker_policy_check", "broker_state_replace",
                        "broker_status", "dead_letter_outbox", "dead_letter_purge", "dead_letter_replay",
                        "declaration_arguments_check", "declaration_request", "disconnect", "enqueue", "exchange_bind",
                        "exchange_declare", "exchange_unbind", "exchange_undeclare", "outbox_defer", "outbox_reclaim",
                        "publish", "publish_changes", "publish_many", "queue_bind", "queue_declare", "queue_unbind",
                        "scheduled_release", "schema_version"),
                functions.stream().map(f -> f.get("name")).toList());
        for (Map<String, Object> function : functions) {
            assertEquals("v", function.get("volatility"), () -> "VOLATILE: " + function);
            assertEquals(true, function.get("definer"), () -> "SECURITY DEFINER: " + function);
            // broker_status also plans per broker and without JIT (see its header); publish_many plans once, so
            // that its plans do not copy the arrays it is passed; scheduled_release sorts despite the bridge's sessions'
            // enable_sort=off, without JIT.
            String expectedConfig = switch ((String) function.get("name")) {
                case "broker_status" -> "search_path=pg_catalog, pg_temp;plan_cache_mode=force_custom_plan;jit=off";
                case "publish_many" -> "search_path=pg_catalog, pg_temp;plan_cache_mode=force_generic_plan";
                case "scheduled_release" -> "search_path=pg_catalog, pg_temp;enable_sort=on;jit=off";
                default -> "search_path=pg_catalog, pg_temp";
            };
            assertEquals(expectedConfig, function.get("config"), () -> "search_path: " + function);
        }
    }

    /**
     * publish_json and publish_bytes are plain SQL without SECURITY DEFINER or SET so that PostgreSQL inlines them into
     * the caller's query: they must do nothing but call amqp.enqueue (which is SECURITY DEFINER).
     */
    @Test
    void thePublishWrappersAreInlinableSqlThatOnlyCallsEnqueue() throws SQLException {
        List<Map<String, Object>> wrappers = Sql.rows(db, "select p.proname::text as name, p.prosecdef as definer,"
                + " p.proconfig is null as unset, p.prosrc as source, l.lanname::text as language " + OWN_FUNCTIONS
                + " and p.proname in " + WRAPPERS + " order by 1");
        assertEquals(List.of("publish_bytes", "publish_json"), wrappers.stream().map(f -> f.get("name")).toList());
        for (Map<String, Object> w : wrappers) {
            assertEquals(false, w.get("definer"), () -> "not SECURITY DEFINER (it would not be inlined): " + w);
            assertEquals(true, w.get("unset"), () -> "no SET (it would not be inlined): " + w);
            assertEquals("sql", w.get("language"), () -> "plain SQL: " + w);
            String source = ((String) w.get("source")).strip();
            assertTrue(source.startsWith("select amqp.enqueue('amqp." + w.get("name") + "',"), source);
            assertEquals(2, source.split("amqp\\.", -1).length - 1, () -> "calls amqp.enqueue and nothing else: " + source);
        }
        String plan = Sql.rows(db, "explain (verbose, costs off) select amqp.publish_json(1, 'x', 'k', '{}')").stream()
                .map(r -> String.valueOf(r.values().iterator().next())).reduce("", (x, y) -> x + y + "\n");
        assertTrue(plan.contains("amqp.enqueue('amqp.publish_json'"), () -> "amqp.publish_json is inlined:\n" + plan);
    }

    /** The shared checks run only inside the SECURITY DEFINER functions that call them (see their headers). */
    @Test
    void theSharedChecksRunOnlyInsideTheDefinerFunctions() throws SQLException {
        assertEquals(List.of("message_headers", "message_is_bad", "message_refuse"), Sql.rows(db,
                "select p.proname::text as name " + OWN_FUNCTIONS + " and p.proname like 'message\\_%'"
                + " and not p.prosecdef and p.proconfig is null"
                + " and not has_function_privilege('public', p.oid, 'execute') order by 1").stream()
                .map(f -> f.get("name")).toList());
    }

    /** message_is_bad is plain SQL so that it is inlined into publish's expression: no call per message. */
    @Test
    void messageIsBadIsInlinedIntoItsCallers() throws SQLException {
        String plan = Sql.rows(db, "explain (verbose, costs off) select amqp.message_is_bad(1, 'x', 'k', true, 2,"
                + " null, null, null, null, null, null, null, null, null)").stream()
                .map(r -> String.valueOf(r.values().iterator().next())).reduce("", (x, y) -> x + y + "\n");
        assertTrue(!plan.contains("message_is_bad"), () -> "inlined:\n" + plan);
    }

    @Test
    void disconnectIsStrictLikePgAmqps() throws SQLException {
        assertEquals(1L, db.queryLong("select count(*) from pg_proc where oid = 'amqp.disconnect(integer)'::regprocedure"
                + " and proisstrict"));
    }

    @Test
    void publicMayExecuteTheFourApiFunctionsAndTouchNoTable() throws SQLException {
        List<Map<String, Object>> executable = Sql.rows(db, "select p.proname::text as name " + OWN_FUNCTIONS
                + " and has_function_privilege('public', p.oid, 'execute') order by 1");
        assertEquals(List.of("autonomous_publish", "disconnect", "exchange_declare", "publish"),
                executable.stream().map(f -> f.get("name")).toList());
        assertEquals(0L, db.queryLong("select count(*) from pg_class c, aclexplode(c.relacl) a"
                + " where c.relnamespace = 'amqp'::regnamespace and a.grantee = 0"), "no table privilege for PUBLIC");
    }

    @Test
    void roleWithOnlyPublicPrivilegesCanPublishButNotReadOrWriteTheTables() throws SQLException {
        try (LoginRole role = new LoginRole(); Connection connection = role.connect(db)) {
            assertEquals(true, Sql.value(connection, "select amqp.publish(?, 'ex', 'k', 'from an ordinary role')", broker));
            assertEquals(true, Sql.value(connection, "select amqp.autonomous_publish(?, 'ex', 'k', 'autonomous')", broker));
            assertEquals(true, Sql.value(connection, "select amqp.exchange_declare(?, 'e', 'direct', false, true)", broker));
            Sql.value(connection, "select amqp.disconnect(?)", broker);

            for (String forbidden : List.of("select * from amqp.broker", "select * from amqp.outbox",
                    "select * from amqp.broker_state", "select * from amqp.dead_letter",
                    "select * from amqp.dead_letter_audit", "select * from amqp.status",
                    "select amqp.dead_letter_replay(broker_id => 1)", "select amqp.dead_letter_purge(broker_id => 1)",
                    // pgamqp's own, for amqp_publisher members (PublishManyFunctionPostgresTest)
                    "select amqp.publish_many(" + broker + ", 'ex', array['k'], array['refused'])",
                    // the queue and binding functions and their view are pgamqp's own too; the shared body is internal
                    "select amqp.queue_declare(" + broker + ", 'q')", "select amqp.queue_bind(" + broker + ", 'q', 'e')",
                    "select amqp.queue_unbind(" + broker + ", 'q', 'e')",
                    "select amqp.exchange_bind(" + broker + ", 'd', 's')",
                    "select amqp.exchange_unbind(" + broker + ", 'd', 's')", "select * from amqp.topology",
                    "select amqp.declaration_request('f', " + broker + ", 'queue', 'q', '', '', null, true, false, false)",
                    "insert into amqp.outbox (broker_id, exchange, body) values (1, 'e', 'forged')",
                    "update amqp.broker_state set max_body_bytes = 1",
                    "insert into amqp.disconnect_request (broker_id) values (" + broker + ")",
                    "select amqp.broker_changed()", "select amqp.broker_state_replace()")) {
                assertServerErrorState(INSUFFICIENT_PRIVILEGE, () -> Sql.rows(connection, forbidden));
            }
        }
        assertEquals(Arrays.asList("from an ordinary role", "autonomous", null),
                Sql.outbox(db, broker).stream().map(row -> row.get("body")).toList());
    }

    @Test
    void dblinkIsNotCallableDirectlyByOrdinaryRoles() throws SQLException {
        try (LoginRole role = new LoginRole(); Connection connection = role.connect(db)) {
            assertServerErrorState(INSUFFICIENT_PRIVILEGE,
                    () -> Sql.value(connection, "select amqp.dblink_connect('mine', 'host=127.0.0.1 user=postgres')"));
        }
    }

    @Test
    void amqpPublisherMembersDeclareQueuesAndBindingsAndReadTheirOutcomeButNotCallTheSharedBody() throws SQLException {
        int broker = db.insertBroker();
        try (LoginRole role = new LoginRole()) {
            db.exec("grant amqp_publisher to " + role.name());
            try (Connection connection = role.connect(db)) {
                for (String call : List.of("select amqp.queue_declare(%d, 'member.q')",
                        "select amqp.queue_bind(%d, 'member.q', 'member.x', 'k')",
                        "select amqp.exchange_bind(%d, 'member.d', 'member.x')",
                        "select amqp.queue_unbind(%d, 'member.q', 'member.x', 'old')",
                        "select amqp.exchange_unbind(%d, 'member.d', 'member.x', 'old')",
                        "select amqp.exchange_declare(%d, 'member.x', 'direct', false, true, false, '{\"alternate-exchange\": \"ae\"}')")) {
                    assertEquals(true, Sql.value(connection, call.formatted(broker)), call);
                }
                assertEquals(6L, ((Number) Sql.value(connection,
                        "select count(*) from amqp.topology where broker_id = ?", broker)).longValue());
                assertServerErrorState(INSUFFICIENT_PRIVILEGE, () -> Sql.value(connection, "select amqp.declaration_request("
                        + "'f', " + broker + ", 'queue', 'q', '', '', null, true, false, false)"));
                assertServerErrorState(INSUFFICIENT_PRIVILEGE, () -> Sql.value(connection,
                        "select amqp.declaration_arguments_check('f', '{}')"));
                assertServerErrorState(INSUFFICIENT_PRIVILEGE,
                        () -> Sql.rows(connection, "select * from amqp.topology_declaration"));
            }
        }
    }

    @Test
    void amqpPublisherMembersCanDisconnectAllButNotReadPasswords() throws SQLException {
        try (LoginRole role = new LoginRole()) {
            db.exec("grant amqp_publisher to " + role.name());
            try (Connection connection = role.connect(db)) {
                Sql.rows(connection, "select amqp.disconnect(broker_id) from amqp.broker");
                assertServerErrorState(INSUFFICIENT_PRIVILEGE,
                        () -> Sql.rows(connection, "select password from amqp.broker"));
            }
        }
    }
}
