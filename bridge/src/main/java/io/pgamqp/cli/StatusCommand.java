package io.pgamqp.cli;

import com.typesafe.config.Config;
import io.pgamqp.config.ChosenDatabase;
import io.pgamqp.config.DatabaseSettings;
import io.pgamqp.config.PgamqpConfig;
import io.pgamqp.outbox.StatusView;
import io.pgamqp.outbox.StatusView.Reading;
import io.pgamqp.outbox.StatusView.Row;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code status [--watch [SECONDS]]}: one line per broker from the view {@code amqp.status} — who drains it, where it
 * is connected, its backlog and oldest pending age, dead letters, the last confirm — and each broker's last error
 * below the table. {@code --watch} redraws every SECONDS (default 2) until Ctrl-C, and keeps retrying while the
 * database is away. Exit codes: 0 shown, 1 database unreachable or not installed, 2 bad option.
 */
public final class StatusCommand {
  static final String USAGE = "usage: pgamqp status [--watch [SECONDS]]";
  private static final double DEFAULT_WATCH_SECONDS = 2;
  private static final String CLEAR_SCREEN = "\033[H\033[2J";
  private static final String UNDEFINED_TABLE = "42P01";
  private static final String INVALID_SCHEMA = "3F000";
  private static final DateTimeFormatter CLOCK =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT).withZone(ZoneOffset.UTC);

  private StatusCommand() {}

  static int run(String[] args) {
    return run(args, null, System.out, System.err);
  }

  /** @param config null: load it as the other commands do (after the options are checked) */
  public static int run(String[] args, Config config, PrintStream out, PrintStream err) {
    Double watchSeconds;
    try {
      watchSeconds = parseWatch(args);
    } catch (IllegalArgumentException e) {
      err.println("pgamqp status: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    Config cfg = config != null ? config : PgamqpConfig.load();
    DatabaseSettings db = DatabaseSettings.create(cfg);
    Connection connection;
    try {
      connection = db.connect("pgamqp status");
    } catch (SQLException e) {
      err.println("pgamqp status: cannot connect to the database " + ChosenDatabase.describe(cfg, db) + " as "
          + db.user() + ": " + e.getMessage());
      return 1;
    }
    try {
      Reading first = StatusView.read(connection); // a missing view fails here, with --watch too
      if (watchSeconds == null) {
        out.print(render(first, db.displayUrl()));
        out.flush();
        return 0;
      }
      return watch(connection, first, cfg, db, watchSeconds, out);
    } catch (SQLException e) {
      err.println("pgamqp status: " + explain(e, cfg, db));
      return 1;
    } finally {
      close(connection);
    }
  }

  /** Null without {@code --watch}, else the refresh period in seconds. */
  static Double parseWatch(String[] args) {
    Double watch = null;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--watch") || a.equals("-w")) {
        watch = DEFAULT_WATCH_SECONDS;
        if (i + 1 < args.length && !args[i + 1].startsWith("-")) {
          watch = seconds(args[++i]);
        }
      } else if (a.startsWith("--watch=")) {
        watch = seconds(a.substring("--watch=".length()));
      } else {
        throw new IllegalArgumentException("unknown option '" + a + "'");
      }
    }
    return watch;
  }

  private static double seconds(String s) {
    double v;
    try {
      v = Double.parseDouble(s);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--watch takes a number of seconds, was '" + s + "'");
    }
    if (!(v > 0) || Double.isInfinite(v)) {
      throw new IllegalArgumentException("--watch takes a number of seconds greater than 0, was '" + s + "'");
    }
    return v;
  }

  /**
   * Redraws until interrupted (Ctrl-C ends the JVM); a lost database is shown and retried, not fatal. Closes the
   * connections it opens; {@code first} stays the caller's.
   */
  private static int watch(Connection first, Reading firstReading, Config config, DatabaseSettings db,
      double seconds, PrintStream out) {
    Connection connection = first;
    long periodMillis = Math.max(1, Math.round(seconds * 1000));
    String every = seconds == Math.rint(seconds) ? Long.toString((long) seconds) : Double.toString(seconds);
    String footer = "\n(every " + every + " s; Ctrl-C to stop)";
    Reading reading = firstReading;
    while (!Thread.currentThread().isInterrupted()) {
      String screen;
      try {
        if (reading == null) {
          if (connection == null) {
            connection = db.connect("pgamqp status");
          }
          reading = StatusView.read(connection);
        }
        screen = render(reading, db.displayUrl());
      } catch (SQLException e) {
        screen = header(db.displayUrl(), Instant.now()) + explain(e, config, db) + "\n";
        if (connection != null && connection != first) {
          close(connection);
        }
        connection = null;
      }
      reading = null;
      out.print(CLEAR_SCREEN);
      out.print(screen);
      out.println(footer);
      out.flush();
      try {
        Thread.sleep(periodMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (connection != null && connection != first) {
      close(connection);
    }
    return 0;
  }

  /** The screen for one reading: a header, the table, then one line per broker with a last error. */
  static String render(Reading s, String url) {
    StringBuilder out = new StringBuilder();
    out.append(header(url, s.now()));
    if (s.rows().isEmpty()) {
      return out.append("no brokers in amqp.broker\n").toString();
    }
    List<String[]> table = new ArrayList<>();
    table.add(new String[] {"BROKER", "STATE", "OWNER", "CONNECTED TO", "UP", "BACKLOG", "OLDEST", "DEAD",
        "LAST CONFIRM", "ADDRESSES"});
    for (Row r : s.rows()) {
      table.add(new String[] {
          Integer.toString(r.brokerId()),
          StatusView.state(r),
          orDash(r.owner()),
          orDash(r.connectedTo()),
          r.connectedTo() == null ? "-" : since(r.connectedSince(), s.now()),
          String.format(Locale.ROOT, "%,d", r.backlog()) + (r.backlogCapped() ? "+" : ""),
          r.oldestPendingAge() == null ? "-" : StatusView.human(r.oldestPendingAge()),
          String.format(Locale.ROOT, "%,d", r.deadLetters()) + (r.deadLettersCapped() ? "+" : ""),
          r.lastConfirmAt() == null ? "never" : ago(r.lastConfirmAt(), s.now()),
          orDash(r.addresses())});
    }
    appendAligned(out, table);
    boolean first = true;
    for (Row r : s.rows()) {
      if (r.lastError() != null) {
        out.append(first ? "\n" : "");
        first = false;
        out.append("broker ").append(r.brokerId()).append(": last error")
            .append(r.lastErrorAt() == null ? "" : " " + ago(r.lastErrorAt(), s.now()))
            .append(": ").append(oneLine(r.lastError())).append('\n');
      }
    }
    return out.toString();
  }

  /** ASCII only: the terminal's encoding is unknown. */
  private static String header(String url, Instant now) {
    return "pgamqp status of " + url + " at " + CLOCK.format(now) + "\n\n";
  }

  /** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
  private static void appendAligned(StringBuilder out, List<String[]> table) {
    int columns = table.get(0).length;
    int[] width = new int[columns];
    for (String[] row : table) {
      for (int c = 0; c < columns; c++) {
        width[c] = Math.max(width[c], row[c].length());
      }
    }
    for (String[] row : table) {
      StringBuilder line = new StringBuilder();
      for (int c = 0; c < columns; c++) {
        line.append(row[c]);
        if (c < columns - 1) {
          line.append(" ".repeat(width[c] - row[c].length() + 2));
        }
      }
      out.append(line.toString().stripTrailing()).append('\n');
    }
  }

  private static String ago(Instant then, Instant now) {
    return StatusView.human(Duration.between(then, now)) + " ago";
  }

  private static String since(Instant then, Instant now) {
    return then == null ? "?" : StatusView.human(Duration.between(then, now));
  }

  private static String orDash(String s) {
    return s == null || s.isEmpty() ? "-" : s;
  }

  private static String oneLine(String s) {
    return s.replaceAll("\\s*\\R\\s*", " ").strip();
  }

  private static String explain(SQLException e, Config config, DatabaseSettings db) {
    if (UNDEFINED_TABLE.equals(e.getSQLState()) || INVALID_SCHEMA.equals(e.getSQLState())) {
      // Which database first: a newcomer without PGAMQP_DB_URL is looking at the default one, not theirs.
      return "schema amqp (view amqp.status) is not installed, or is older than this pgamqp, in the database "
          + ChosenDatabase.describe(config, db) + ". If pgamqp lives in another database, "
          + ChosenDatabase.howToChoose() + "; to install or upgrade it in this one: pgamqp install";
    }
    return "reading amqp.status from " + ChosenDatabase.describe(config, db) + " failed: " + e.getMessage();
  }

  private static void close(Connection connection) {
    try {
      connection.close();
    } catch (SQLException ignored) {
      // closing anyway
    }
  }
}
