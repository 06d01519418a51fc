package io.pgamqp.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * sql/install.sql: idempotent, upgrades the first release, up to date with its sources (as is the extension script),
 * and pg_amqp's documented usage works right after it.
 */
class InstallScriptPostgresTest {

    @Test
    void installingTwiceOnAFreshDatabaseUpgradesInPlaceAndKeepsData() throws Exception {
        try (TestDatabase db = TestServers.get().createEmptyDatabase("install_twice")) {
            db.exec(installSql());
            int broker = db.insertBroker();
            db.exec("update amqp.broker_state set max_body_bytes = 4242 where broker_id = ?", broker);
            db.exec("select amqp.publish(?, 'ex', 'k', 'kept')", broker);

            db.exec(installSql());

            assertEquals(4242L, db.queryLong("select max_body_bytes from amqp.broker_state where broker_id = ?", broker));
            assertEquals(1L, db.queryLong("select count(*) from amqp.outbox where body = 'kept'"));
            db.exec("select amqp.publish(?, 'ex', 'k', 'after reinstall')", broker);
            assertEquals(2L, db.queryLong("select count(*) from amqp.outbox where broker_id = ?", broker));
        }
    }

    @Test
    void installingTwiceWithPsqlSucceeds() throws Exception {
        Assumptions.assumeTrue(onPath("psql"), "psql is not installed");
        try (TestDatabase db = TestServers.get().createEmptyDatabase("install_psql")) {
            URI server = URI.create(db.jdbcUrl().substring("jdbc:".length()));
            for (int run = 1; run <= 2; run++) {
                Process psql = new ProcessBuilder("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                        "-h", server.getHost(), "-p", String.valueOf(server.getPort()),
                        "-U", TestServers.get().dbUser(), "-d", db.name(), "-f", installSqlPath().toString())
                        .redirectErrorStream(true)
                        .start();
                String output = new String(psql.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(psql.waitFor(60, TimeUnit.SECONDS), "psql did not finish");
                int exitCode = psql.exitValue();
                assertEquals(0, exitCode, "psql run " + run + ":\n" + output);
            }
            assertEquals(1L, db.queryLong("select count(*) from pg_namespace where nspname = 'amqp'"));
        }
    }

    @Test
    void concurrentInstallsIntoOneDatabaseBothSucceed() throws Exception {
        try (TestDatabase db = TestServers.get().createEmptyDatabase("install_concurrent")) {
            String sql = installSql();
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                List<Future<Void>> runs = new ArrayList<>();
                for (int i = 0; i < 2; i++) {
                    Callable<Void> install = () -> {
                        db.exec(sql);
                        return null;
                    };
                    runs.add(pool.submit(install));
                }
                for (Future<Void> run : runs) {
                    run.get(60, TimeUnit.SECONDS); // rethrows the install's SQLException
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(10L, db.queryLong("select count(*) from pg_tables where schemaname = 'amqp'"));
        }
    }

    @Test
    void installSqlIsAssembledFromTheCurrentSources() throws Exception {
        assertEquals(assembled("--stdout"), installSql(),
                "sql/install.sql is stale: run `bash sql/assemble.sh` and commit it");
    }

    @Test
    void theExtensionScriptIsAssembledFromTheCurrentSources() throws Exception {
        String control = Files.readString(repoRoot().resolve("sql/amqp.control"), StandardCharsets.UTF_8);
        Matcher version = Pattern.compile("(?m)^default_version = '([^']+)'$").matcher(control);
        assertTrue(version.find(), "no default_version in sql/amqp.control");
        Path script = repoRoot().resolve("sql/extension/amqp--" + version.group(1) + ".sql");
        assertTrue(Files.isRegularFile(script), script + " is missing: run `bash sql/assemble.sh` and commit it");
        assertEquals(assembled("--stdout-extension"), Files.readString(script, StandardCharsets.UTF_8),
                script + " is stale: run `bash sql/assemble.sh` and commit it");
    }

    @Test
    void upgradingTheFirstReleaseGivesTheSameSchemaAsAFreshInstallAndKeepsTheData() throws Exception {
        String firstRelease;
        try (InputStream in = getClass().getResourceAsStream("install-c07e39b.sql")) {
            assertNotNull(in, "test resource install-c07e39b.sql");
            firstRelease = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        try (TestDatabase upgraded = TestServers.get().createEmptyDatabase("upgrade_first");
             TestDatabase fresh = TestServers.get().createDatabase("upgrade_fresh")) {
            upgraded.exec(firstRelease);
            int broker = upgraded.insertBroker();
            upgraded.exec("update amqp.broker_state set max_body_bytes = 4242 where broker_id = ?", broker);
            upgraded.exec("select amqp.publish(?, 'ex', 'k', 'queued before the upgrade')", broker);

            upgraded.exec(installSql());

            SchemaListing.assertSameSchema(fresh, upgraded);
            assertEquals(4242L, upgraded.queryLong("select max_body_bytes from amqp.broker_state where broker_id = ?",
                    broker));
            assertEquals(1L, upgraded.queryLong("select backlog from amqp.status where broker_id = ?", broker));
        }
    }

    /**
     * Re-running install.sql on an up-to-date schema must not queue behind, or block, the transactions of publishers
     * and of the bridge: it takes no lock on amqp.outbox, amqp.broker_state or amqp.dead_letter that conflicts with
     * theirs (the runtime columns and the dead_letter index are looked up, not re-added "if not exists").
     */
    @Test
    void reinstallingDoesNotWaitForOpenPublishersOrDeadLettering() throws Exception {
        try (TestDatabase db = TestServers.get().createDatabase("install_locks");
             Connection open = db.connect()) {
            int broker = db.insertBroker();
            open.setAutoCommit(false);
            Sql.value(open, "select amqp.publish(?, 'ex', 'k', 'in an open transaction')", broker);
            Sql.exec(open, "insert into amqp.dead_letter (outbox_id, message_id, broker_id, exchange, routing_key, body,"
                    + " delivery_mode, created_at, attempts, reason) values (1, '1', ?, 'ex', 'k', 'b', 2, now(), 1, 'x')",
                    broker);
            try (Connection installer = db.connect(); Statement statement = installer.createStatement()) {
                statement.execute("set lock_timeout = '5s'");
                statement.execute(installSql()); // 55P03 lock_not_available if it waited
            }
            open.commit();
        }
    }

    @Test
    void theSeedArticlesUsageWorksVerbatim() throws SQLException {
        try (TestDatabase db = TestServers.get().createDatabase("seed_article");
             Connection connection = db.connect();
             Statement statement = connection.createStatement()) {
            statement.execute("INSERT INTO amqp.broker(host, port, vhost, username, password)"
                    + " VALUES ('127.0.0.1', 5672, '/', 'guest', 'guest')");
            statement.execute("SELECT amqp.publish(1, 'amqp.direct', 'foo', 'message')");
            statement.execute("select amqp.disconnect(1)");
            statement.execute("select amqp.disconnect(broker_id) from amqp.broker");

            assertEquals(1L, db.queryLong("select count(*) from amqp.outbox where broker_id = 1"
                    + " and exchange = 'amqp.direct' and routing_key = 'foo' and body = 'message'"));
        }
    }

    @Test
    void aDatabaseOwnerWithoutSuperuserCanInstallWithoutDblink() throws Exception {
        try (LoginRole owner = new LoginRole()) {
            try (TestDatabase db = TestServers.get().createEmptyDatabase("install_owner")) {
                db.exec("alter database " + db.name() + " owner to " + owner.name());
                try (Connection connection = owner.connect(db); Statement statement = connection.createStatement()) {
                    statement.execute(installSql()); // dblink needs a superuser: a NOTICE, not an error
                    statement.execute("insert into amqp.broker(host) values ('127.0.0.1')");
                    statement.execute("select amqp.publish(1, 'ex', 'k', 'm')");
                }
                assertEquals(0L, db.queryLong("select count(*) from pg_extension where extname = 'dblink'"));
                assertEquals(1L, db.queryLong("select count(*) from amqp.outbox"));
            }
        }
    }

    /** What {@code bash sql/assemble.sh <flag>} prints. */
    private static String assembled(String flag) throws IOException, InterruptedException {
        Path assemble = repoRoot().resolve("sql/assemble.sh");
        Process process = new ProcessBuilder("bash", assemble.toString(), flag)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "assemble.sh did not finish");
        assertEquals(0, process.exitValue(), "assemble.sh " + flag + " failed");
        return output;
    }

    private static String installSql() throws IOException {
        return Files.readString(installSqlPath(), StandardCharsets.UTF_8);
    }

    private static Path installSqlPath() {
        return repoRoot().resolve("sql/install.sql");
    }

    /** $PGAMQP_REPO_ROOT (set by surefire), else the parent of the bridge module's working directory. */
    private static Path repoRoot() {
        String root = System.getenv("PGAMQP_REPO_ROOT");
        Path path = root == null || root.isBlank() ? Path.of("..") : Path.of(root);
        return path.toAbsolutePath().normalize();
    }

    private static boolean onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }
}
