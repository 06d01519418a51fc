package io.pgamqp.sql;

import static org.junit.jupiter.api.Assertions.fail;

import io.pgamqp.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * A connection that LISTENs on some channels and tells, without sleeping on a guess, which notifications arrived.
 *
 * <p>{@link #receivedSoFar()} sends a sentinel notification and collects until it arrives: PostgreSQL delivers
 * notifications in commit order, so everything committed before the call has been seen by then, and anything absent
 * was never sent.
 */
final class NotificationProbe implements AutoCloseable {

    private static final long SENTINEL_TIMEOUT_MILLIS = 10_000;

    private final Connection connection;
    private final String sentinelChannel;

    NotificationProbe(TestDatabase database, String... channels) throws SQLException {
        connection = database.connect();
        sentinelChannel = channels[0];
        try (Statement statement = connection.createStatement()) {
            for (String channel : channels) {
                statement.execute("listen " + channel);
            }
        }
    }

    /** Notifications (other than sentinels) received since the last call, in delivery order. */
    List<PGNotification> receivedSoFar() throws SQLException {
        String sentinel = "sentinel-" + UUID.randomUUID();
        try (Statement statement = connection.createStatement()) {
            statement.execute("select pg_notify('" + sentinelChannel + "', '" + sentinel + "')");
        }
        List<PGNotification> received = new ArrayList<>();
        long deadline = System.currentTimeMillis() + SENTINEL_TIMEOUT_MILLIS;
        PGConnection pg = connection.unwrap(PGConnection.class);
        while (System.currentTimeMillis() < deadline) {
            PGNotification[] batch = pg.getNotifications(200);
            if (batch == null) {
                continue;
            }
            for (PGNotification notification : batch) {
                if (sentinel.equals(notification.getParameter())) {
                    return received;
                }
                if (!notification.getParameter().startsWith("sentinel-")) {
                    received.add(notification);
                }
            }
        }
        return fail("sentinel notification not received within " + SENTINEL_TIMEOUT_MILLIS + " ms");
    }

    /** "channel:payload" strings of {@link #receivedSoFar()}, for readable assertions. */
    List<String> receivedSoFarAsText() throws SQLException {
        List<String> texts = new ArrayList<>();
        for (PGNotification notification : receivedSoFar()) {
            texts.add(notification.getName() + ":" + notification.getParameter());
        }
        return texts;
    }

    @Override
    public void close() throws SQLException {
        connection.close();
    }
}
