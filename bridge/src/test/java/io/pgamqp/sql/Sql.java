package io.pgamqp.sql;

import io.pgamqp.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Small JDBC conveniences for the SQL tests: run a statement on a given connection, read rows as maps. */
final class Sql {

    private Sql() {
    }

    /** Rows of {@code sql} as column-name → value maps, in result order. */
    static List<Map<String, Object>> rows(Connection connection, String sql, Object... args) throws SQLException {
        try (PreparedStatement statement = prepare(connection, sql, args); ResultSet result = statement.executeQuery()) {
            ResultSetMetaData meta = result.getMetaData();
            List<Map<String, Object>> rows = new ArrayList<>();
            while (result.next()) {
                Map<String, Object> row = new LinkedHashMap<>();
                for (int i = 1; i <= meta.getColumnCount(); i++) {
                    row.put(meta.getColumnLabel(i), result.getObject(i));
                }
                rows.add(row);
            }
            return rows;
        }
    }

    /** Rows of {@code sql} read on a new auto-commit connection. */
    static List<Map<String, Object>> rows(TestDatabase database, String sql, Object... args) throws SQLException {
        try (Connection connection = database.connect()) {
            return rows(connection, sql, args);
        }
    }

    /** The first column of the single row {@code sql} returns (may be null). */
    static Object value(Connection connection, String sql, Object... args) throws SQLException {
        List<Map<String, Object>> rows = rows(connection, sql, args);
        if (rows.size() != 1) {
            throw new IllegalStateException(rows.size() + " rows from: " + sql);
        }
        return rows.get(0).values().iterator().next();
    }

    /** Runs a statement that returns nothing of interest. */
    static void exec(Connection connection, String sql, Object... args) throws SQLException {
        try (PreparedStatement statement = prepare(connection, sql, args)) {
            statement.execute();
        }
    }

    /** Outbox rows of {@code brokerId} in id order, with tx as text. */
    static List<Map<String, Object>> outbox(TestDatabase database, int brokerId) throws SQLException {
        return rows(database, "select o.*, o.tx::text as tx_text from amqp.outbox o where o.broker_id = ? order by o.id",
                brokerId);
    }

    private static PreparedStatement prepare(Connection connection, String sql, Object... args) throws SQLException {
        PreparedStatement statement = connection.prepareStatement(sql);
        for (int i = 0; i < args.length; i++) {
            statement.setObject(i + 1, args[i]);
        }
        return statement;
    }
}
