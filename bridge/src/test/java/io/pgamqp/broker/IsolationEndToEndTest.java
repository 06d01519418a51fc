package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.rabbitmq.client.Channel;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Route;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A burst of messages the broker refuses holds back only itself (issue "Isolation"), on the real RabbitMQ: messages to
 * a missing exchange are held while the others flow, and go out in order once it is declared, or are dead-lettered
 * after hold-timeout; a message refused on its own account is retried on its own schedule; readiness stays true.
 */
@Tag("end-to-end")
@Timeout(180)
class IsolationEndToEndTest {
  private static final int N = 10_000;

  // Measured against RabbitMQ, whose direct reply-to (the refused reply_to) the embedded Qpid broker does not have.
  @org.junit.jupiter.api.BeforeEach
  void needsRabbitMq() {
    io.pgamqp.testkit.TestServers.assumeRabbitMq();
  }

  @Test
  void aMissingExchangeHoldsOnlyItsOwnMessagesWhichGoInOrderOnceItIsDeclared() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("isolation_held",
        Map.of("pgamqp.bridge.progress-interval", "300ms"))) { // the interval of the backlog (and held) gauges
      Route good = Route.declare(t.amqp, "iso-good");
      String missing = t.amqp.uniqueName("iso-missing");
      String missingQueue = missing + ".q";
      t.amqp.declareQueue(missingQueue);

      // The same 10,000 alone first, for the rate (reported; the ratio is the benchmark's to judge).
      long t0 = System.nanoTime();
      List<Published.Message> alone = Published.commit(t.db, t.brokerId, good.exchange(), good.routingKey(),
          Published.bodies("alone", N));
      Deliveries.drain(t.amqp, good.queue(), N, Duration.ofSeconds(60)).assertExactly(alone);
      double aloneSeconds = (System.nanoTime() - t0) / 1e9;
      t.awaitOutboxEmpty(Duration.ofSeconds(10));

      Arrivals goodArrivals = Arrivals.on(t.amqp.channel(), good.queue());
      List<Published.Message> held = Published.commit(t.db, t.brokerId, missing, "k", Published.bodies("held", N));
      long committed = System.nanoTime();
      List<Published.Message> flowing = Published.commit(t.db, t.brokerId, good.exchange(), good.routingKey(),
          Published.bodies("flowing", N));
      goodArrivals.await(N, Duration.ofSeconds(60));
      double firstSeconds = (goodArrivals.firstAt() - committed) / 1e9;
      double behindSeconds = (goodArrivals.lastAt() - committed) / 1e9;
      System.out.printf("isolation: 10,000 alone in %.2f s (%.0f msg/s); behind 10,000 held: first after %.3f s,"
          + " all in %.2f s (%.0f msg/s, %.2fx)%n", aloneSeconds, N / aloneSeconds, firstSeconds, behindSeconds,
          N / behindSeconds, aloneSeconds / behindSeconds);
      assertEquals(Published.bodiesOf(flowing), goodArrivals.bodies(), "every good message, in order, once");
      assertTrue(firstSeconds < 2, "the first good message arrived after " + firstSeconds + " s");
      assertEquals(N, t.outboxRows(), "the held messages wait in the outbox");
      assertEquals(0, t.deadLetters());
      assertEquals(1, t.db.queryLong("select count(*) from amqp.status, jsonb_array_elements(held_destinations) h"
          + " where broker_id = ? and h->>'exchange' = ? and (h->>'waiting')::int = ? and not (h->>'expired')::boolean"
          + " and h->>'last_error' like '%NOT_FOUND%'", t.brokerId, missing, N));
      int port = t.bridge().httpPort();
      Eventually.until("the gauges show the held exchange and its 10,000 messages", Duration.ofSeconds(10),
          () -> metric(port, "pgamqp_held_destinations", t.brokerId) == 1
              && metric(port, "pgamqp_held_messages_rows", t.brokerId) == N
              && metric(port, "pgamqp_held_destination_messages_rows", t.brokerId, missing) == N);
      assertTrue(readyResponse(port).body().contains("\"held\":[\"" + missing + "\"]"), "readiness lists it");

      // Declared through amqp.exchange_declare: the bridge lifts the hold when it applies that declaration, and the
      // held messages go out in order.
      long declared = System.nanoTime();
      try (Connection c = t.db.connect()) {
        c.setAutoCommit(false);
        // Declared and bound from SQL in one transaction: applied in that order, before the held messages resume.
        c.createStatement().execute("select amqp.exchange_declare(" + t.brokerId + ", '" + missing
            + "', 'direct', false, false, true)");
        c.createStatement().execute("select amqp.queue_bind(" + t.brokerId + ", '" + missingQueue + "', '" + missing
            + "', 'k')");
        c.commit();
      }
      Deliveries.drain(t.amqp, missingQueue, N, Duration.ofSeconds(10)).assertExactly(held);
      System.out.printf("isolation: the 10,000 held messages arrived %.2f s after the declaration%n",
          (System.nanoTime() - declared) / 1e9);
      t.awaitOutboxEmpty(Duration.ofSeconds(10));
      assertEquals(0, t.deadLetters(), "none dead-lettered");
      assertEquals(1, t.db.queryLong("select count(*) from amqp.status where broker_id = ?"
          + " and held_destinations is null", t.brokerId));
    }
  }

  @Test
  void heldLongerThanHoldTimeoutTheyAreDeadLetteredNamingTheExchangeAndAReplayDeliversThem() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("isolation_timeout", Map.of("pgamqp.bridge.hold-timeout", "1s"))) {
      String missing = t.amqp.uniqueName("iso-timeout");
      List<Published.Message> held = Published.commit(t.db, t.brokerId, missing, "k", Published.bodies("late", 1_000));
      Eventually.until("all 1,000 dead-lettered", Duration.ofSeconds(30), () -> t.deadLetters() == 1_000);
      assertEquals(0, t.outboxRows());
      assertEquals(1_000, t.db.queryLong("select count(*) from amqp.dead_letter where strpos(reason, ?) > 0"
          + " and strpos(reason, 'NOT_FOUND') > 0", "exchange '" + missing + "'"), "the reason names the exchange");

      t.amqp.declareExchange(missing, "direct");
      String queue = missing + ".q";
      t.amqp.declareQueue(queue);
      t.amqp.bind(queue, missing, "k");
      try (Connection c = t.db.connect()) {
        c.setAutoCommit(false);
        // The declaration first: applied before the replayed messages, it lifts the expired hold.
        c.createStatement().execute("select amqp.exchange_declare(" + t.brokerId + ", '" + missing + "', 'direct',"
            + " true, false)");
        c.createStatement().execute("select amqp.dead_letter_replay(broker_id => " + t.brokerId + ")");
        c.commit();
      }
      List<String> arrived = Deliveries.drain(t.amqp, queue, 1_000, Duration.ofSeconds(30)).bodies();
      assertEquals(Published.bodiesOf(held), arrived, "replayed in their order");
      t.awaitOutboxEmpty(Duration.ofSeconds(10));
    }
  }

  @Test
  void anInterleavedStreamDeliversEveryGoodMessageInOrderAndHoldsTheBadOnes() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("isolation_interleaved")) {
      Route good = Route.declare(t.amqp, "iso-interleaved");
      String missing = t.amqp.uniqueName("iso-interleaved-missing");
      List<Published.Message> goodOnes = new ArrayList<>();
      try (Connection c = t.db.connect()) {
        c.setAutoCommit(false);
        for (int i = 0; i < 5_000; i++) {
          Published.inTransaction(c, t.brokerId, missing, "k", List.of("bad-" + i));
          goodOnes.addAll(Published.inTransaction(c, t.brokerId, good.exchange(), good.routingKey(),
              List.of("good-" + i)));
        }
        c.commit();
      }
      Deliveries.drain(t.amqp, good.queue(), 5_000, Duration.ofSeconds(60)).assertExactly(goodOnes);
      Eventually.until("only the 5,000 bad ones wait", Duration.ofSeconds(10), () -> t.outboxRows() == 5_000);
      assertEquals(5_000, t.db.queryLong("select count(*) from amqp.outbox where exchange = ?", missing));
      assertEquals(0, t.deadLetters());
    }
  }

  @Test
  void threeMissingExchangesAndARefusedReplyToHoldBackNoneOfTheGoodMessagesAndReadinessStaysUp() throws Exception {
    try (BridgeUnderTest t = BridgeUnderTest.start("isolation_mixed")) {
      Route good = Route.declare(t.amqp, "iso-mixed");
      int port = t.bridge().httpPort();
      Eventually.until("/health/ready answers 200 with the broker running", Duration.ofSeconds(20), () -> {
        HttpResponse<String> r = readyResponse(port);
        return r != null && r.statusCode() == 200 && r.body().contains("\"phase\":\"running\"");
      });
      AtomicBoolean watching = new AtomicBoolean(true);
      List<Integer> readiness = new CopyOnWriteArrayList<>();
      List<String> notReady = new CopyOnWriteArrayList<>();
      Thread watcher = new Thread(() -> {
        while (watching.get()) {
          HttpResponse<String> r = readyResponse(port);
          readiness.add(r == null ? -1 : r.statusCode());
          if (r == null || r.statusCode() != 200) {
            notReady.add(r == null ? "no answer" : r.body());
          }
          try {
            Thread.sleep(20);
          } catch (InterruptedException e) {
            return;
          }
        }
      });
      watcher.start();
      Arrivals arrivals = Arrivals.on(t.amqp.channel(), good.queue());
      long committed;
      List<Published.Message> goodOnes;
      try (Connection c = t.db.connect()) {
        c.setAutoCommit(false);
        for (int i = 0; i < 3; i++) {
          Published.inTransaction(c, t.brokerId, t.amqp.uniqueName("iso-gone-" + i), "k", List.of("gone-" + i));
        }
        Published.one(c, t.brokerId, good.exchange(), good.routingKey(), "reply-to-refused", null, null,
            "amq.rabbitmq.reply-to", null);
        goodOnes = Published.inTransaction(c, t.brokerId, good.exchange(), good.routingKey(),
            Published.bodies("good", 1_000));
        c.commit();
        committed = System.nanoTime();
      }
      arrivals.await(1_000, Duration.ofSeconds(30));
      double allSeconds = (arrivals.lastAt() - committed) / 1e9;
      watching.set(false);
      watcher.join();
      System.out.printf("isolation: 1,000 good messages behind 3 missing exchanges and a refused reply_to: all"
          + " arrived %.3f s after the commit; readiness %d samples, %d not 200%n", allSeconds, readiness.size(),
          readiness.stream().filter(s -> s != 200).count());
      assertEquals(Published.bodiesOf(goodOnes), arrivals.bodies().stream().filter(b -> b.startsWith("good-"))
          .toList(), "every good one, in order");
      assertTrue(allSeconds < 2, "the good messages took " + allSeconds + " s");
      assertTrue(readiness.size() > 0 && readiness.stream().allMatch(s -> s == 200),
          "readiness: " + readiness + " " + notReady);
      assertEquals(3, t.db.queryLong("select jsonb_array_length(held_destinations) from amqp.status"
          + " where broker_id = ?", t.brokerId));
      // The refused message gets its own retries, then is dead-lettered with the broker's words.
      Eventually.until("the reply_to message is dead-lettered", Duration.ofSeconds(60),
          () -> t.db.queryLong("select count(*) from amqp.dead_letter where body = 'reply-to-refused'"
              + " and strpos(reason, 'PRECONDITION_FAILED') > 0") == 1);
    }
  }

  private static double metric(int port, String name, int brokerId) {
    return metric(port, name, brokerId, null);
  }

  /** A series of {@code name} for {@code brokerId}, and for {@code exchange} unless null. */
  private static double metric(int port, String name, int brokerId, String exchange) {
    HttpResponse<String> r;
    try {
      r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
          .build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      return Double.NaN;
    }
    String labels = exchange == null ? "[^}]*" : java.util.regex.Pattern.quote(",exchange=\"" + exchange + "\"");
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^" + java.util.regex.Pattern.quote(name)
        + "\\{broker=\"" + brokerId + "\"" + labels + "} (\\S+)$").matcher(r.body());
    return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
  }

  private static int ready(int port) {
    HttpResponse<String> r = readyResponse(port);
    return r == null ? -1 : r.statusCode();
  }

  private static HttpResponse<String> readyResponse(int port) {
    try {
      return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
          + "/health/ready")).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      return null;
    }
  }

  /** What arrived on a queue, in order, and when the first and last came (System.nanoTime). */
  private static final class Arrivals {
    private final List<String> bodies = new CopyOnWriteArrayList<>();
    private final AtomicLong first = new AtomicLong();
    private final AtomicLong last = new AtomicLong();

    static Arrivals on(Channel channel, String queue) throws Exception {
      Arrivals a = new Arrivals();
      channel.basicConsume(queue, true, (tag, d) -> {
        long now = System.nanoTime();
        a.first.compareAndSet(0, now);
        a.last.set(now);
        a.bodies.add(new String(d.getBody(), java.nio.charset.StandardCharsets.UTF_8));
      }, tag -> { });
      return a;
    }

    void await(int n, Duration timeout) throws Exception {
      Eventually.until(n + " messages arrived", timeout, () -> bodies.size() >= n);
      Thread.sleep(200); // duplicates would show up now
    }

    List<String> bodies() {
      return new ArrayList<>(bodies);
    }

    long firstAt() {
      return first.get();
    }

    long lastAt() {
      return last.get();
    }
  }
}
