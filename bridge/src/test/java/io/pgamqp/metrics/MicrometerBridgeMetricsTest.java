package io.pgamqp.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The Prometheus series MicrometerBridgeMetrics exports, as /metrics shows them. */
class MicrometerBridgeMetricsTest {

  private final MicrometerBridgeMetrics metrics = new MicrometerBridgeMetrics();

  @AfterEach
  void close() {
    metrics.close();
  }

  @Test
  void heldDestinationsShowPerBrokerAndPerExchangeCappedAndGoWhenLifted() {
    metrics.heldDestination(1, 1);
    metrics.heldDestination(1, 1);
    List<BridgeMetrics.HeldSample> held = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      held.add(new BridgeMetrics.HeldSample("gone-" + i, 100 - i, 10 + i));
    }
    metrics.held(1, held);
    String text = metrics.scrape();
    assertEquals(2.0, value(text, "pgamqp_held_destinations{broker=\"1\"}"));
    assertEquals(25 * 10 + 300.0, value(text, "pgamqp_held_messages_rows{broker=\"1\"}"), "every one counts");
    assertEquals(10.0, value(text, "pgamqp_held_destination_messages_rows{broker=\"1\",exchange=\"gone-0\"}"));
    assertEquals(100.0, value(text, "pgamqp_held_destination_age_seconds{broker=\"1\",exchange=\"gone-0\"}"));
    assertEquals(20, text.lines().filter(l -> l.startsWith("pgamqp_held_destination_messages_rows{")).count(),
        "series for the 20 held longest only");
    assertFalse(text.contains("exchange=\"gone-20\""), text);

    metrics.held(1, held.subList(1, 2));
    metrics.heldDestination(1, -1);
    String after = metrics.scrape();
    assertFalse(after.contains("exchange=\"gone-0\""), "a lifted destination's series go");
    assertEquals(11.0, value(after, "pgamqp_held_destination_messages_rows{broker=\"1\",exchange=\"gone-1\"}"));
    assertEquals(11.0, value(after, "pgamqp_held_messages_rows{broker=\"1\"}"));
    assertEquals(1.0, value(after, "pgamqp_held_destinations{broker=\"1\"}"));
  }

  @Test
  void countersAppearPerBrokerAndGrowWithCalls() {
    metrics.published(1, 250);
    metrics.confirmed(1, 240);
    metrics.nacked(1, 3);
    metrics.returned(1, 2);
    metrics.timedOut(1, 5);
    metrics.deadLettered(1, 2);
    metrics.retried(1, 8);
    metrics.reconnect(1);
    metrics.published(2, 7);
    String before = metrics.scrape();

    assertEquals(250.0, value(before, "pgamqp_messages_published_total{broker=\"1\"}"));
    assertEquals(240.0, value(before, "pgamqp_messages_confirmed_total{broker=\"1\"}"));
    assertEquals(3.0, value(before, "pgamqp_messages_nacked_total{broker=\"1\"}"));
    assertEquals(2.0, value(before, "pgamqp_messages_returned_total{broker=\"1\"}"));
    assertEquals(5.0, value(before, "pgamqp_messages_timed_out_total{broker=\"1\"}"));
    assertEquals(2.0, value(before, "pgamqp_messages_dead_lettered_total{broker=\"1\"}"));
    assertEquals(8.0, value(before, "pgamqp_messages_retried_total{broker=\"1\"}"));
    assertEquals(1.0, value(before, "pgamqp_broker_reconnects_total{broker=\"1\"}"));
    assertEquals(7.0, value(before, "pgamqp_messages_published_total{broker=\"2\"}"));
    assertEquals(0.0, value(before, "pgamqp_messages_confirmed_total{broker=\"2\"}"));
    assertTrue(before.contains("# TYPE pgamqp_messages_published_total counter"), before);

    metrics.published(1, 100);
    metrics.confirmed(1, 100);
    metrics.reconnect(1);
    String after = metrics.scrape();
    assertEquals(350.0, value(after, "pgamqp_messages_published_total{broker=\"1\"}"));
    assertEquals(340.0, value(after, "pgamqp_messages_confirmed_total{broker=\"1\"}"));
    assertEquals(2.0, value(after, "pgamqp_broker_reconnects_total{broker=\"1\"}"));
  }

  @Test
  void confirmLatencyIsAHistogramInSeconds() {
    metrics.confirmLatency(1, TimeUnit.MILLISECONDS.toNanos(3));
    metrics.confirmLatency(1, TimeUnit.MILLISECONDS.toNanos(40));
    metrics.confirmLatency(1, TimeUnit.SECONDS.toNanos(2));
    String text = metrics.scrape();

    assertTrue(text.contains("# TYPE pgamqp_batch_confirm_latency_seconds histogram"), text);
    assertEquals(3.0, value(text, "pgamqp_batch_confirm_latency_seconds_count{broker=\"1\"}"));
    assertEquals(2.043, value(text, "pgamqp_batch_confirm_latency_seconds_sum{broker=\"1\"}"), 1e-9);
    assertEquals(3.0, value(text, "pgamqp_batch_confirm_latency_seconds_bucket{broker=\"1\",le=\"+Inf\"}"));
    long buckets = text.lines().filter(l -> l.startsWith("pgamqp_batch_confirm_latency_seconds_bucket{")).count();
    assertTrue(buckets > 10, "a percentile histogram has many buckets, had " + buckets);
    assertEquals(2.0, value(text, "pgamqp_batch_confirm_latency_seconds_max{broker=\"1\"}"));
  }

  @Test
  void outboxQueriesAreTimedPerQuery() {
    metrics.outboxQuery(1, BridgeMetrics.OutboxQuery.CLAIM, TimeUnit.MILLISECONDS.toNanos(2));
    metrics.outboxQuery(1, BridgeMetrics.OutboxQuery.CLAIM, TimeUnit.MILLISECONDS.toNanos(4));
    metrics.outboxQuery(1, BridgeMetrics.OutboxQuery.SETTLE, TimeUnit.MILLISECONDS.toNanos(5));
    String text = metrics.scrape();

    assertEquals(2.0, value(text, "pgamqp_outbox_query_seconds_count{broker=\"1\",query=\"claim\"}"));
    assertEquals(0.006, value(text, "pgamqp_outbox_query_seconds_sum{broker=\"1\",query=\"claim\"}"), 1e-9);
    assertEquals(1.0, value(text, "pgamqp_outbox_query_seconds_count{broker=\"1\",query=\"settle\"}"));
    assertEquals(0.0, value(text, "pgamqp_outbox_query_seconds_count{broker=\"1\",query=\"sweep\"}"));
    metrics.brokerRemoved(1);
    assertTrue(!metrics.scrape().contains("pgamqp_outbox_query_seconds_count{broker=\"1\""), "removed with the broker");
  }

  @Test
  void batchSizeHasFixedBuckets() {
    metrics.batchSize(1, 250);
    metrics.batchSize(1, 250);
    metrics.batchSize(1, 7);
    String text = metrics.scrape();

    assertEquals(3.0, value(text, "pgamqp_batch_size_rows_count{broker=\"1\"}"));
    assertEquals(507.0, value(text, "pgamqp_batch_size_rows_sum{broker=\"1\"}"));
    assertEquals(1.0, value(text, "pgamqp_batch_size_rows_bucket{broker=\"1\",le=\"10.0\"}"));
    assertEquals(3.0, value(text, "pgamqp_batch_size_rows_bucket{broker=\"1\",le=\"250.0\"}"));
  }

  @Test
  void gaugesShowTheLastState() {
    metrics.connectionState(3, true);
    metrics.owned(3, true);
    metrics.backlog(3, 87_660, 42.5);
    String text = metrics.scrape();
    assertEquals(1.0, value(text, "pgamqp_broker_connected{broker=\"3\"}"));
    assertEquals(1.0, value(text, "pgamqp_broker_owned{broker=\"3\"}"));
    assertEquals(87_660.0, value(text, "pgamqp_outbox_backlog_rows{broker=\"3\"}"));
    assertEquals(42.5, value(text, "pgamqp_outbox_oldest_age_seconds{broker=\"3\"}"));
    assertTrue(text.contains("# TYPE pgamqp_broker_connected gauge"), text);

    metrics.connectionState(3, false);
    metrics.backlog(3, 0, 0);
    text = metrics.scrape();
    assertEquals(0.0, value(text, "pgamqp_broker_connected{broker=\"3\"}"));
    assertEquals(0.0, value(text, "pgamqp_outbox_backlog_rows{broker=\"3\"}"));
  }

  @Test
  void aRemovedBrokersSeriesDisappear() {
    metrics.published(4, 1);
    metrics.connectionState(4, true);
    metrics.published(5, 1);
    metrics.brokerRemoved(4);
    String text = metrics.scrape();
    assertNull(find(text, "pgamqp_messages_published_total{broker=\"4\"}"), text);
    assertNull(find(text, "pgamqp_broker_connected{broker=\"4\"}"), text);
    assertNotNull(find(text, "pgamqp_messages_published_total{broker=\"5\"}"), text);

    metrics.published(4, 2); // re-added: starts again
    assertEquals(2.0, value(metrics.scrape(), "pgamqp_messages_published_total{broker=\"4\"}"));
  }

  @Test
  void jvmMetricsAreExported() {
    String text = metrics.scrape();
    for (String name : List.of("jvm_memory_used_bytes", "jvm_threads_live_threads", "jvm_classes_loaded_classes",
        "process_cpu_usage", "system_cpu_count", "process_uptime_seconds", "jvm_gc_")) {
      assertTrue(text.contains(name), name + " missing");
    }
  }

  @Test
  void scrapeToAStreamWritesTheSameText() throws Exception {
    metrics.published(1, 1);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    metrics.scrape(out);
    assertEquals(1.0, value(out.toString(StandardCharsets.UTF_8), "pgamqp_messages_published_total{broker=\"1\"}"));
  }

  @Test
  void concurrentCallsAreAllCounted() throws Exception {
    int threads = 8;
    int calls = 10_000;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> done = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int broker = t % 2 + 1; // two brokers, created concurrently
      done.add(pool.submit(() -> {
        start.await();
        for (int i = 0; i < calls; i++) {
          metrics.confirmed(broker, 1);
          metrics.batchSize(broker, 1);
        }
        return null;
      }));
    }
    start.countDown();
    for (Future<?> f : done) {
      f.get(30, TimeUnit.SECONDS);
    }
    pool.shutdown();
    String text = metrics.scrape();
    assertEquals(threads / 2.0 * calls, value(text, "pgamqp_messages_confirmed_total{broker=\"1\"}"));
    assertEquals(threads / 2.0 * calls, value(text, "pgamqp_messages_confirmed_total{broker=\"2\"}"));
    assertEquals(threads / 2.0 * calls, value(text, "pgamqp_batch_size_rows_count{broker=\"2\"}"));
  }

  @Test
  void theNoOpRecordsNothingAndCombineFansOut() {
    BridgeMetrics.NONE.published(1, 1); // no effect, no failure
    List<String> seen = new ArrayList<>();
    BridgeMetrics recorder = new BridgeMetrics() {
      @Override
      public void confirmed(int brokerId, int messages) {
        seen.add(brokerId + ":" + messages);
      }
    };
    BridgeMetrics both = BridgeMetrics.combine(metrics, recorder);
    both.confirmed(9, 12);
    both.backlog(9, 5, 1);
    assertEquals(List.of("9:12"), seen);
    String text = metrics.scrape();
    assertEquals(12.0, value(text, "pgamqp_messages_confirmed_total{broker=\"9\"}"));
    assertEquals(5.0, value(text, "pgamqp_outbox_backlog_rows{broker=\"9\"}"));
    assertFalse(text.contains("broker=\"1\""), "NONE must not reach a registry");
  }

  @Test
  void aLongRunOfCallsIsCheap() {
    // Not a benchmark: guards against a per-call registry lookup creeping in (which costs microseconds).
    long start = System.nanoTime();
    for (int i = 0; i < 1_000_000; i++) {
      metrics.confirmed(1, 1);
    }
    assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos());
  }

  static Double find(String text, String series) {
    return text.lines()
        .filter(l -> l.startsWith(series + " "))
        .map(l -> Double.parseDouble(l.substring(series.length() + 1).trim().split(" ")[0]))
        .findFirst().orElse(null);
  }

  static double value(String text, String series) {
    Double v = find(text, series);
    if (v == null) {
      throw new AssertionError("no series " + series + " in:\n" + text);
    }
    return v;
  }
}
