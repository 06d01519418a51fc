package io.pgamqp.outbox;

import java.sql.Array;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import org.postgresql.util.PGInterval;

/**
 * The view {@code amqp.status} as Java values: what {@code pgamqp status} prints and the operations page
 * ({@code GET /}) shows, read the same way so that both agree. Stateless; thread-safe.
 */
public final class StatusView {
  private static final String QUERY =
      "select s.*, pg_catalog.now() as pgamqp_now from amqp.status s order by s.broker_id";

  /** One row of {@code amqp.status}; null where the view has NULL. */
  public record Row(
      int brokerId,
      String addresses,
      long backlog,
      boolean backlogCapped,
      Duration oldestPendingAge,
      long deadLetters,
      boolean deadLettersCapped,
      String lastError,
      Instant lastErrorAt,
      String owner,
      Instant ownedSince,
      String connectedTo,
      Instant connectedSince,
      Instant lastConfirmAt,
      boolean bridgeWaiting) {}

  /** What was read: the rows and the database's clock, which the ages are relative to. */
  public record Reading(List<Row> rows, Instant now) {}

  private StatusView() {}

  /** One reading of the view, ordered by broker_id. */
  public static Reading read(Connection connection) throws SQLException {
    List<Row> rows = new ArrayList<>();
    Instant now = null;
    try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(QUERY)) {
      boolean deadLettersCapped = hasColumn(rs, "dead_letters_capped");
      while (rs.next()) {
        now = instant(rs, "pgamqp_now");
        rows.add(new Row(
            rs.getInt("broker_id"),
            text(rs.getObject("addresses")),
            rs.getLong("backlog"),
            rs.getBoolean("backlog_capped"),
            interval(rs.getObject("oldest_pending_age")),
            rs.getLong("dead_letters"),
            deadLettersCapped && rs.getBoolean("dead_letters_capped"),
            rs.getString("last_error"),
            instant(rs, "last_error_at"),
            rs.getString("owner"),
            instant(rs, "owned_since"),
            rs.getString("connected_to"),
            instant(rs, "connected_since"),
            instant(rs, "last_confirm_at"),
            rs.getBoolean("bridge_waiting")));
      }
    }
    return new Reading(rows, now != null ? now : Instant.now());
  }

  /**
   * {@code unowned}: no bridge drains it; {@code disconnected}: owned, no AMQP connection; {@code idle}: connected, the
   * bridge asleep on LISTEN until a publish; {@code running}: connected and polling or sending.
   */
  public static String state(Row r) {
    if (r.owner() == null) {
      return "unowned";
    }
    if (r.connectedTo() == null) {
      return "disconnected";
    }
    return r.bridgeWaiting() ? "idle" : "running";
  }

  /** {@code 3m12s}, {@code 42s}, {@code 1h2m}, {@code 2d3h}, {@code <1s}: the two largest units. */
  public static String human(Duration d) {
    if (d.isNegative()) {
      d = Duration.ZERO;
    }
    long s = d.getSeconds();
    if (s < 1) {
      return d.isZero() ? "0s" : "<1s";
    }
    long days = s / 86_400;
    long hours = s % 86_400 / 3_600;
    long minutes = s % 3_600 / 60;
    long secs = s % 60;
    if (days > 0) {
      return days + "d" + (hours > 0 ? hours + "h" : "");
    }
    if (hours > 0) {
      return hours + "h" + (minutes > 0 ? minutes + "m" : "");
    }
    if (minutes > 0) {
      return minutes + "m" + (secs > 0 ? secs + "s" : "");
    }
    return secs + "s";
  }

  /** Columns a newer view added are read only when there. */
  private static boolean hasColumn(ResultSet rs, String name) throws SQLException {
    ResultSetMetaData meta = rs.getMetaData();
    for (int i = 1; i <= meta.getColumnCount(); i++) {
      if (meta.getColumnLabel(i).equals(name)) {
        return true;
      }
    }
    return false;
  }

  private static Instant instant(ResultSet rs, String column) throws SQLException {
    OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
    return t == null ? null : t.toInstant();
  }

  private static String text(Object value) throws SQLException {
    if (value instanceof Array a) {
      Object[] items = (Object[]) a.getArray();
      List<String> parts = new ArrayList<>(items.length);
      for (Object item : items) {
        parts.add(String.valueOf(item));
      }
      return String.join(", ", parts);
    }
    return value == null ? null : value.toString();
  }

  /** A PostgreSQL interval (without months, which an age never has) as a Duration. */
  private static Duration interval(Object value) {
    if (!(value instanceof PGInterval i)) {
      return null;
    }
    return Duration.ofDays(i.getYears() * 365L + i.getMonths() * 30L + i.getDays())
        .plusHours(i.getHours())
        .plusMinutes(i.getMinutes())
        .plusSeconds(i.getWholeSeconds())
        .plusNanos(i.getMicroSeconds() * 1_000L);
  }
}
