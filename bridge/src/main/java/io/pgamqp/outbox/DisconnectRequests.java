package io.pgamqp.outbox;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.concurrent.CompletionStage;

/**
 * Takes the pending {@code amqp.disconnect()} request of a broker from {@code amqp.disconnect_request}. The NOTIFY
 * {@code amqp_disconnect} only says "look": any role can send it, while only that function, whose EXECUTE privilege
 * the site controls, writes the row. Thread-safe (stateless apart from the database handle).
 */
public final class DisconnectRequests {
  private static final String TAKE =
      "delete from amqp.disconnect_request where broker_id = ? returning requested_by::text";

  private final SlickDatabase db;

  DisconnectRequests(SlickDatabase db) {
    this.db = db;
  }

  /** Deletes the request of {@code brokerId}: the role that made it, or null when there was none. */
  public CompletionStage<String> take(int brokerId) {
    return db.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(TAKE)) {
        ps.setInt(1, brokerId);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? rs.getString(1) : null;
        }
      }
    });
  }
}
