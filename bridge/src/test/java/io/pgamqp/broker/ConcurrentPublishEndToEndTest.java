package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgamqp.testkit.Route;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Many sessions publishing at once while the bridge drains: transactions of every size commit in an order unrelated
 * to their ids, which is where a plain high-water-mark outbox loses messages. Needs PostgreSQL and an AMQP broker.
 */
@Tag("end-to-end")
@Timeout(180)
class ConcurrentPublishEndToEndTest {
  private static final int SESSIONS = 4;
  private static final int PER_SESSION = 5_000;

  /** One session's plan: transaction sizes, in order, adding up to {@link #PER_SESSION}. */
  private static List<Integer> plan() {
    List<Integer> sizes = new ArrayList<>();
    sizes.add(1_000);
    for (int i = 0; i < 1_000; i++) {
      sizes.add(1);
    }
    sizes.add(1_000);
    for (int i = 0; i < 100; i++) {
      sizes.add(10);
    }
    for (int i = 0; i < 500; i++) {
      sizes.add(1);
    }
    sizes.add(500);
    return sizes;
  }

  @Test
  void twentyThousandMessagesFromConcurrentSessionsArriveOnceEachInEachSessionsOrder() throws Exception {
    assertEquals(PER_SESSION, plan().stream().mapToInt(Integer::intValue).sum());
    try (BridgeUnderTest t = BridgeUnderTest.start("concurrent_publish")) {
      Route r = Route.declare(t.amqp, "concurrent");
      ExecutorService pool = Executors.newFixedThreadPool(SESSIONS);
      try {
        List<Future<?>> sessions = new ArrayList<>();
        for (int s = 0; s < SESSIONS; s++) {
          int session = s;
          sessions.add(pool.submit(() -> {
            publishSession(t, r, session);
            return null;
          }));
        }
        // Consume while they publish, so the drain's timeout covers publishing and delivery together.
        Deliveries arrived = Deliveries.drain(t.amqp, r.queue(), SESSIONS * PER_SESSION, Duration.ofSeconds(120));
        for (Future<?> f : sessions) {
          f.get(10, TimeUnit.SECONDS); // a publishing error fails the test here, with its cause
        }

        List<String> expected = new ArrayList<>();
        for (int s = 0; s < SESSIONS; s++) {
          for (int i = 0; i < PER_SESSION; i++) {
            expected.add(body(s, i));
          }
        }
        arrived.assertBodiesExactlyOnce(expected);
        assertEachSessionInOrder(arrived.bodies());
        t.awaitOutboxEmpty(Duration.ofSeconds(10));
        assertEquals(0, t.deadLetters());
      } finally {
        pool.shutdownNow();
      }
    }
  }

  private static void publishSession(BridgeUnderTest t, Route r, int session) throws Exception {
    try (Connection c = t.db.connect()) {
      try (Statement st = c.createStatement()) {
        // Fewer fsyncs for 12k tiny commits; what other sessions (the bridge) see, and when, is unchanged.
        st.execute("set synchronous_commit = off");
      }
      c.setAutoCommit(false);
      try (PreparedStatement one = c.prepareStatement("select amqp.publish(?, ?, ?, ?)")) {
        int seq = 0;
        for (int size : plan()) {
          if (size == 1) {
            one.setInt(1, t.brokerId);
            one.setString(2, r.exchange());
            one.setString(3, r.routingKey());
            one.setString(4, body(session, seq++));
            one.execute();
          } else {
            List<String> bodies = new ArrayList<>(size);
            for (int i = 0; i < size; i++) {
              bodies.add(body(session, seq++));
            }
            Published.inTransaction(c, t.brokerId, r.exchange(), r.routingKey(), bodies);
          }
          c.commit();
        }
      }
    }
  }

  private static String body(int session, int seq) {
    return "s" + session + ":" + seq;
  }

  private static void assertEachSessionInOrder(List<String> bodies) {
    int[] last = new int[SESSIONS];
    java.util.Arrays.fill(last, -1);
    for (int i = 0; i < bodies.size(); i++) {
      String b = bodies.get(i);
      int colon = b.indexOf(':');
      int session = Integer.parseInt(b.substring(1, colon));
      int seq = Integer.parseInt(b.substring(colon + 1));
      if (seq <= last[session]) {
        fail("session " + session + " out of order at delivery " + i + ": " + seq + " after " + last[session]);
      }
      last[session] = seq;
    }
  }
}
