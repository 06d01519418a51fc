package io.pgamqp.sql;

import static io.pgamqp.sql.ServerErrors.assertServerError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Delivery;
import io.pgamqp.Bridge;
import io.pgamqp.testkit.AmqpTestClient;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Route;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.util.ServerErrorMessage;

/**
 * pgamqp packaged as extension amqp (sql/Makefile, sql/amqp.control, sql/extension/): installed with {@code make -C sql
 * install} by this test, it must give exactly the objects of install.sql, run the seed article's steps, and survive
 * pg_dump.
 *
 * <p>Needs PGXS ({@code pg_config --pgxs}), write access to the server's extension directory (the tests run as root on
 * CI) and a test server that is the PostgreSQL pg_config describes (not the embedded one). Missing any of these, the
 * tests are skipped with the reason, except on CI ({@code CI=true}), where they fail.
 */
class ExtensionPostgresTest {

    private static final boolean ON_CI = "true".equalsIgnoreCase(System.getenv("CI"));
    private static final long PROCESS_TIMEOUT_SECONDS = 120;

    @BeforeAll
    static void installTheExtension() throws Exception {
        ProcessResult pgxs = runIfPossible(List.of("pg_config", "--pgxs"));
        require(pgxs != null && pgxs.exitCode == 0 && Files.isRegularFile(Path.of(pgxs.output.strip())),
                "PGXS is not installed (pg_config --pgxs: " + (pgxs == null ? "no pg_config" : pgxs.output.strip())
                        + "); on Debian it comes with postgresql-client-NN");
        Path shareDir = Path.of(run(List.of("pg_config", "--sharedir")).output.strip());
        String serverShareDir;
        try (TestDatabase probe = TestServers.get().createEmptyDatabase("ext_probe")) {
            serverShareDir = (String) Sql.rows(probe, "select setting from pg_config where name = 'SHAREDIR'")
                    .get(0).get("setting");
        }
        require(shareDir.equals(Path.of(serverShareDir)), "the test server's SHAREDIR " + serverShareDir
                + " is not pg_config's " + shareDir + " (an embedded server?): make install would not reach it");
        require(Files.isWritable(shareDir.resolve("extension")),
                shareDir.resolve("extension") + " is not writable: make install needs root");
        ProcessResult make = run(List.of("make", "-C", repoRoot().resolve("sql").toString(), "install"));
        assertEquals(0, make.exitCode, make::toString);
    }

    @Test
    void createExtensionGivesExactlyTheObjectsOfInstallSql() throws SQLException {
        try (TestDatabase extension = TestServers.get().createEmptyDatabase("ext_objects");
             TestDatabase script = TestServers.get().createDatabase("ext_objects_script")) {
            extension.exec("create extension amqp");
            SchemaListing.assertSameSchema(script, extension);
            assertEquals(1L, extension.queryLong("select count(*) from pg_extension where extname = 'amqp'"
                    + " and extversion = '0.2.0' and not extrelocatable and extnamespace = 'amqp'::regnamespace"));
        }
    }

    /**
     * A database at 0.1.0 (pg_amqp's eight-argument API, text bodies only) with messages waiting: ALTER EXTENSION amqp
     * UPDATE gives exactly a fresh 0.2.0, keeps the waiting rows, and a bridge then sends them with their properties.
     */
    @Test
    void alterExtensionUpdateFrom010KeepsAndSendsPendingMessages() throws Exception {
        try (TestDatabase upgraded = TestServers.get().createEmptyDatabase("ext_upgrade");
             TestDatabase fresh = TestServers.get().createEmptyDatabase("ext_upgrade_fresh");
             AmqpTestClient amqp = new AmqpTestClient()) {
            upgraded.exec("create extension amqp version '0.1.0'");
            int broker = upgraded.insertBroker();
            Route route = Route.declare(amqp, "ext-upgrade");
            upgraded.exec("select amqp.publish(?, ?, ?, 'queued at 0.1.0', 1, 'text/plain', 'replies', 'corr')",
                    broker, route.exchange(), route.routingKey());
            upgraded.exec("select amqp.publish_many(?, ?, array[?], array['many-1', 'many-2'])", broker,
                    route.exchange(), route.routingKey());

            // Declared at 0.1.0 (six parameters, no arguments column): still applied after the update.
            upgraded.exec("select amqp.exchange_declare(?, ?, 'direct', false, false, false)", broker, route.exchange());

            upgraded.exec("alter extension amqp update");
            fresh.exec("create extension amqp");

            SchemaListing.assertSameSchema(fresh, upgraded);
            assertEquals(1L, upgraded.queryLong("select count(*) from pg_extension where extname = 'amqp'"
                    + " and extversion = '0.2.0'"));
            assertEquals(4L, upgraded.queryLong("select backlog from amqp.status where broker_id = ?", broker),
                    "three messages and the declaration");
            upgraded.exec("select amqp.publish_json(?, ?, ?, '{\"after\": true}', headers => '{\"v\": 2}')", broker,
                    route.exchange(), route.routingKey());
            try (Bridge bridge = BridgeRunner.start(upgraded)) {
                List<Delivery> d = amqp.drain(route.queue(), 4, Duration.ofSeconds(30));
                assertEquals(List.of("queued at 0.1.0", "many-1", "many-2", "{\"after\": true}"),
                        d.stream().map(x -> new String(x.getBody(), StandardCharsets.UTF_8)).toList());
                AMQP.BasicProperties first = d.get(0).getProperties();
                assertEquals(1, first.getDeliveryMode());
                assertEquals("text/plain", first.getContentType());
                assertEquals("replies", first.getReplyTo());
                assertEquals("corr", first.getCorrelationId());
                assertEquals(2L, d.get(3).getProperties().getHeaders().get("v"));
                Eventually.until("the exchange declared at 0.1.0 applied", Duration.ofSeconds(20), () -> 1L
                        == upgraded.queryLong("select count(*) from amqp.topology where kind = 'exchange' and name = ?"
                        + " and status = 'applied' and arguments is null", route.exchange()));
            }
        }
    }

    @Test
    void theSeedArticlesStepsWorkVerbatim() throws SQLException {
        try (TestDatabase db = TestServers.get().createEmptyDatabase("ext_seed");
             Connection connection = db.connect();
             Statement statement = connection.createStatement()) {
            statement.execute("create extension amqp;");
            statement.execute("insert into amqp.broker(host, port, vhost, username, password)"
                    + " values ('127.0.0.1', 5672, '/', 'guest', 'guest')");
            statement.execute("select amqp.publish(1, 'amqp.direct', 'foo', 'message')");
            statement.execute("select amqp.disconnect(1)");
            assertEquals(1L, db.queryLong("select count(*) from amqp.outbox where broker_id = 1"
                    + " and exchange = 'amqp.direct' and routing_key = 'foo' and body = 'message'"));
        }
    }

    @Test
    void pgDumpAndRestoreKeepEveryRowAndTheSequences() throws Exception {
        try (TestDatabase source = TestServers.get().createEmptyDatabase("ext_dump");
             TestDatabase target = TestServers.get().createEmptyDatabase("ext_restore")) {
            source.exec("create extension amqp");
            int broker = fillWithOneOfEverything(source);

            Path dump = Files.createTempFile("pgamqp-ext-", ".dump");
            try {
                ProcessResult dumped = run(withConnection(List.of("pg_dump", "-Fc", "-f", dump.toString()), source));
                assertEquals(0, dumped.exitCode, dumped::toString);
                ProcessResult restored = run(withConnection(List.of("pg_restore", "--exit-on-error", dump.toString()),
                        target));
                assertEquals(0, restored.exitCode, restored::toString);
            } finally {
                Files.deleteIfExists(dump);
            }

            assertSameRows(source, target);
            assertEquals(1L, target.queryLong("select count(*) from pg_extension where extname = 'amqp'"));
            assertEquals(broker + 1, target.insertBroker(), "broker_id continues after the restored ones");
            assertEquals(1L, target.queryLong("select count(*) from amqp.status where broker_id = ? and backlog = 1",
                    broker));
        }
    }

    @Test
    void aDataOnlyDumpRestoresIntoAFreshExtension() throws Exception {
        try (TestDatabase source = TestServers.get().createEmptyDatabase("ext_data");
             TestDatabase target = TestServers.get().createEmptyDatabase("ext_data_restore")) {
            source.exec("create extension amqp");
            fillWithOneOfEverything(source);
            target.exec("create extension amqp");

            Path dump = Files.createTempFile("pgamqp-ext-data-", ".dump");
            try {
                ProcessResult dumped = run(withConnection(List.of("pg_dump", "--data-only", "-Fc", "-f",
                        dump.toString()), source));
                assertEquals(0, dumped.exitCode, dumped::toString);
                // Triggers stay on: amqp.broker's creates default broker_state rows, which the dumped ones replace.
                ProcessResult restored = run(withConnection(List.of("pg_restore", "--data-only", "--exit-on-error",
                        dump.toString()), target));
                assertEquals(0, restored.exitCode, restored::toString);
            } finally {
                Files.deleteIfExists(dump);
            }
            assertSameRows(source, target);
        }
    }

    /** The way from install.sql to the extension that the refusal's hint gives: a data-only dump of schema amqp. */
    @Test
    void anInstallSqlDatabaseMovesToTheExtensionThroughADataOnlyDump() throws Exception {
        try (TestDatabase source = TestServers.get().createDatabase("script_to_ext");
             TestDatabase target = TestServers.get().createEmptyDatabase("script_to_ext_restore")) {
            fillWithOneOfEverything(source);
            target.exec("create extension amqp");
            Path dump = Files.createTempFile("pgamqp-script-data-", ".dump");
            try {
                ProcessResult dumped = run(withConnection(List.of("pg_dump", "--data-only", "--schema=amqp", "-Fc",
                        "-f", dump.toString()), source));
                assertEquals(0, dumped.exitCode, dumped::toString);
                ProcessResult restored = run(withConnection(List.of("pg_restore", "--data-only", "--exit-on-error",
                        dump.toString()), target));
                assertEquals(0, restored.exitCode, restored::toString);
            } finally {
                Files.deleteIfExists(dump);
            }
            assertSameRows(source, target);
        }
    }

    @Test
    void installSqlRefusesADatabaseWithTheExtension() throws Exception {
        try (TestDatabase db = TestServers.get().createEmptyDatabase("ext_then_script")) {
            db.exec("create extension amqp");
            String installSql = Files.readString(repoRoot().resolve("sql/install.sql"), StandardCharsets.UTF_8);
            ServerErrorMessage error = assertServerError("55000", "installed in this database as extension",
                    () -> db.exec(installSql));
            assertTrue(error.getHint().contains("alter extension amqp update"), error::getHint);
        }
    }

    @Test
    void createExtensionRefusesASchemaFilledByInstallSql() throws SQLException {
        try (TestDatabase db = TestServers.get().createDatabase("script_then_ext")) {
            assertServerError("55000", "installed by install.sql", () -> db.exec("create extension amqp"));
        }
    }

    /** A broker with a changed setting, a message, a declaration, a dead letter and an audit row; returns its id. */
    private static int fillWithOneOfEverything(TestDatabase db) throws SQLException {
        int broker = db.insertBroker();
        db.exec("insert into amqp.broker (broker_id, host, port) values (?, 'standby.example', 5673)", broker);
        db.exec("update amqp.broker_state set max_body_bytes = 4242, on_unroutable = 'drop', last_error = 'boom'"
                + " where broker_id = ?", broker);
        db.exec("select amqp.exchange_declare(?, 'orders', 'topic', false, true, false, '{\"alternate-exchange\": \"ae\"}')",
                broker);
        db.exec("select amqp.queue_declare(?, 'orders.q', arguments => '{\"x-queue-type\": \"quorum\"}')", broker);
        db.exec("delete from amqp.outbox where kind in ('d', 't')");
        db.exec("select amqp.publish(?, 'orders', 'k', 'pending message')", broker);
        db.exec("insert into amqp.dead_letter (outbox_id, message_id, broker_id, exchange, routing_key, body,"
                + " delivery_mode, created_at, attempts, reason) values (1, '1', ?, 'ex', 'k', 'dead', 2, now(), 1, 'x')",
                broker);
        db.exec("select amqp.dead_letter_purge(older_than => interval '1 day')");
        return broker;
    }

    private static void assertSameRows(TestDatabase source, TestDatabase target) throws SQLException {
        for (String table : List.of("broker", "broker_state", "outbox", "dead_letter", "dead_letter_audit",
                "exchange_declaration", "topology_declaration")) {
            String query = "select t::text as line from amqp." + table + " t order by 1";
            List<Map<String, Object>> expected = Sql.rows(source, query);
            assertTrue(!expected.isEmpty(), () -> "nothing to compare in amqp." + table);
            assertEquals(expected, Sql.rows(target, query), "amqp." + table);
        }
        for (String sequence : List.of("broker_broker_id_seq", "outbox_id_seq", "dead_letter_id_seq",
                "dead_letter_audit_id_seq", "topology_declaration_id_seq")) {
            String query = "select last_value, is_called from amqp." + sequence;
            assertEquals(Sql.rows(source, query), Sql.rows(target, query), "amqp." + sequence);
        }
    }

    /** {@code command} plus the connection options for {@code db} (trust authentication, no password). */
    private static List<String> withConnection(List<String> command, TestDatabase db) {
        TestServers servers = TestServers.get();
        List<String> full = new ArrayList<>(command);
        full.addAll(List.of("-h", servers.dbHost(), "-p", String.valueOf(servers.dbPort()), "-U", servers.dbUser(),
                "-d", db.name()));
        return full;
    }

    private static void require(boolean condition, String reason) {
        if (condition) {
            return;
        }
        // The postgres-versions runs use an embedded server of another major version on purpose: make install
        // reaches only the machine's server, which the default run tests.
        if (ON_CI && System.getProperty(TestServers.POSTGRES_BINARIES_PROPERTY, "").isBlank()) {
            fail("extension tests cannot run on CI: " + reason);
        }
        Assumptions.abort(reason);
    }

    /** What a program printed (standard output and error together) and its exit code. */
    private record ProcessResult(List<String> command, int exitCode, String output) {
        @Override
        public String toString() {
            return String.join(" ", command) + " (exit code " + exitCode + "):\n" + output;
        }
    }

    private static ProcessResult run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(PROCESS_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail(command + " did not finish within " + PROCESS_TIMEOUT_SECONDS + " s:\n" + output);
        }
        return new ProcessResult(command, process.exitValue(), output);
    }

    /** Like {@link #run}, but null when the program is not installed. */
    private static ProcessResult runIfPossible(List<String> command) throws InterruptedException {
        try {
            return run(command);
        } catch (IOException e) {
            return null;
        }
    }

    /** $PGAMQP_REPO_ROOT (set by surefire), else the parent of the bridge module's working directory. */
    private static Path repoRoot() {
        String root = System.getenv("PGAMQP_REPO_ROOT");
        Path path = root == null || root.isBlank() ? Path.of("..") : Path.of(root);
        return path.toAbsolutePath().normalize();
    }
}
