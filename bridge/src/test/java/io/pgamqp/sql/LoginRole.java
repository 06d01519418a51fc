package io.pgamqp.sql;

import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;

/**
 * A throwaway LOGIN role with no privileges of its own (only what PUBLIC has), for testing what ordinary callers may
 * do. Roles are cluster-wide, so it is created and dropped through the {@code postgres} database; {@link #close()}
 * drops it, which works while it owns nothing and holds no grants (close the databases it owns first).
 */
final class LoginRole implements AutoCloseable {

    private final String name;

    LoginRole() throws SQLException {
        name = "pgamqp_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        execInMaintenanceDatabase("create role " + name + " login");
    }

    String name() {
        return name;
    }

    /** A new connection to {@code database} as this role (trust authentication, no password). */
    Connection connect(TestDatabase database) throws SQLException {
        return DriverManager.getConnection(database.jdbcUrl(), name, "");
    }

    @Override
    public void close() throws SQLException {
        // Sessions of the role that are still ending (e.g. its dblink connection) do not block DROP ROLE.
        execInMaintenanceDatabase("drop role if exists " + name);
    }

    private static void execInMaintenanceDatabase(String sql) throws SQLException {
        TestServers servers = TestServers.get();
        try (Connection connection = DriverManager.getConnection(servers.jdbcUrl("postgres"), servers.dbUser(),
                servers.dbPassword());
             Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }
}
