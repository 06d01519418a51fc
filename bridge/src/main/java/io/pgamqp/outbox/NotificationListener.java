package io.pgamqp.outbox;

import io.pgamqp.config.DatabaseSettings;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.function.Consumer;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LISTENs on {@code amqp_outbox}, {@code amqp_disconnect} and {@code amqp_broker_changed} on a connection of its own,
 * in a thread of its own (waiting for notifications blocks), and hands each to {@code sink}. Reconnects on failure;
 * after every (re)connect it reports {@link #RECONNECTED} because notifications sent meanwhile were lost.
 */
public final class NotificationListener implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NotificationListener.class);

  /** A notification: its channel and payload. */
  public record Notification(String channel, String payload) {}

  /** Reported after (re)connecting: anything may have been missed. */
  public static final Notification RECONNECTED = new Notification("", "");

  private final DatabaseSettings db;
  private final Consumer<Notification> sink;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile Connection connection;

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
          st.execute("listen amqp_outbox; listen amqp_disconnect; listen amqp_broker_changed");
        }
        pauseMs = 200;
        sink.accept(RECONNECTED);
        PGConnection pg = c.unwrap(PGConnection.class);
        while (running) {
          PGNotification[] ns = pg.getNotifications(500);
          if (ns != null) {
            for (PGNotification n : ns) {
              sink.accept(new Notification(n.getName(), n.getParameter()));
            }
          }
        }
      } catch (SQLException | RuntimeException e) {
        if (!running) {
          return;
        }
        log.warn("LISTEN connection to the database failed, retrying in {} ms: {}", pauseMs, e.getMessage());
        try {
          Thread.sleep(pauseMs);
        } catch (InterruptedException ie) {
          return;
        }
        pauseMs = Math.min(pauseMs * 2, 10_000);
      }
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
