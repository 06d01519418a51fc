package io.pgamqp.outbox;

import io.pgamqp.config.DatabaseSettings;
import io.pgamqp.logging.LogText;
import io.pgamqp.logging.Outage;
import io.pgamqp.logging.RepeatedWarnings;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.function.Consumer;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LISTENs on {@code amqp_outbox}, {@code amqp_disconnect} and {@code amqp_broker_changed} on a connection of its own,
 * in a thread of its own (waiting for notifications blocks), and hands each to {@code sink}. Reconnects on failure;
 * after every (re)connect it reports {@link #RECONNECTED} because notifications sent meanwhile were lost.
 *
 * <p>Any role may NOTIFY these channels. A payload that should be a broker_id and is not is dropped here with a WARN
 * that shows it escaped and cut ({@link LogText#value}), at most one per {@link #WARNING_INTERVAL} saying how many
 * were left out: a flood of junk costs the log a line every 10 s, never a line per notification.
 */
public final class NotificationListener implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NotificationListener.class);

  /** A notification: its channel and payload. */
  public record Notification(String channel, String payload) {}

  /** How often at most a junk notification is logged. */
  public static final Duration WARNING_INTERVAL = Duration.ofSeconds(10);

  /** Reported after (re)connecting: anything may have been missed. */
  public static final Notification RECONNECTED = new Notification("", "");

  private final DatabaseSettings db;
  private final Consumer<Notification> sink;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile Connection connection;
  private final RepeatedWarnings junk = new RepeatedWarnings(WARNING_INTERVAL);
  private final Outage outage = new Outage(); // only the listener thread touches it

  public NotificationListener(DatabaseSettings db, Consumer<Notification> sink) {
    this.db = db;
    this.sink = sink;
    this.thread = new Thread(this::loop, "pgamqp-listener");
    this.thread.setDaemon(true);
  }

  public void start() {
    thread.start();
  }

  private void loop() {
    long pauseMs = 200;
    while (running) {
      try (Connection c = db.connect("pgamqp listener")) {
        connection = c;
        try (Statement st = c.createStatement()) {
          st.execute("listen amqp_outbox; listen amqp_scheduled; listen amqp_disconnect; listen amqp_broker_changed");
        }
        pauseMs = 200;
        Outage.Ended ended = outage.recovered();
        if (ended != null) {
          log.info("LISTEN re-established after {} ms and {} failed attempt(s)", ended.lasted().toMillis(),
              ended.failedAttempts());
        }
        sink.accept(RECONNECTED);
        PGConnection pg = c.unwrap(PGConnection.class);
        while (running) {
          PGNotification[] ns = pg.getNotifications(500);
          if (ns != null) {
            for (PGNotification n : ns) {
              if (acceptable(n.getName(), n.getParameter())) {
                sink.accept(new Notification(n.getName(), n.getParameter()));
              }
            }
          }
        }
      } catch (SQLException | RuntimeException e) {
        if (!running) {
          return;
        }
        // Once per outage (and once when it is back), not per retry.
        if (outage.failed()) {
          log.warn("LISTEN connection to the database failed; retrying (every up to 10 s) until it is back: {}",
              e.getMessage());
        } else {
          log.debug("LISTEN connection still failing, retrying in {} ms: {}", pauseMs, e.getMessage());
        }
        try {
          Thread.sleep(pauseMs);
        } catch (InterruptedException ie) {
          return;
        }
        pauseMs = Math.min(pauseMs * 2, 10_000);
      }
    }
  }

  /** False for a broker_id channel whose payload is no broker_id (logged, paced). */
  private boolean acceptable(String channel, String payload) {
    if (!channel.equals("amqp_outbox") && !channel.equals("amqp_scheduled") && !channel.equals("amqp_disconnect")) {
      return true;
    }
    if (isBrokerId(payload)) {
      return true;
    }
    long left = junk.admit();
    if (left >= 0) {
      log.warn("ignoring a notification on {} whose payload is not a broker_id: '{}'{}", channel,
          LogText.value(payload), RepeatedWarnings.leftOut(left, WARNING_INTERVAL));
    }
    return false;
  }

  /** An integer as amqp.publish and amqp.disconnect send it (surrounding blanks allowed). */
  static boolean isBrokerId(String payload) {
    String p = payload == null ? "" : payload.trim();
    if (p.isEmpty() || p.length() > 11) {
      return false;
    }
    try {
      Integer.parseInt(p);
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  @Override
  public void close() {
    running = false;
    Connection c = connection;
    if (c != null) {
      try {
        c.close();
      } catch (SQLException ignored) {
        // closing
      }
    }
    thread.interrupt();
  }
}
