package io.pgamqp.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * {@link BridgeMetrics} on a Prometheus registry, plus the JVM's own metrics; {@link #scrape} renders them for
 * {@code GET /metrics}. Exported series (label {@code broker} = {@code broker_id}):
 *
 * <pre>
 * pgamqp_messages_published_total{broker}       counter  sent with basicPublish
 * pgamqp_messages_confirmed_total{broker}       counter  confirmed by the broker, deleted from the outbox
 * pgamqp_messages_nacked_total{broker}          counter  rejected by the broker (basic.nack)
 * pgamqp_messages_returned_total{broker}        counter  returned as unroutable (mandatory publish)
 * pgamqp_messages_timed_out_total{broker}       counter  no confirm within confirm-timeout
 * pgamqp_messages_dead_lettered_total{broker}   counter  moved to amqp.dead_letter
 * pgamqp_messages_retried_total{broker}         counter  stay in the outbox to be sent again
 * pgamqp_batch_confirm_latency_seconds{broker}  histogram  first basicPublish of a batch → its last answer
 * pgamqp_batch_size_rows{broker}                histogram  rows per claimed batch
 * pgamqp_broker_reconnects_total{broker}        counter  connection attempts after a failure or a lost connection
 * pgamqp_broker_connected{broker}               gauge    1 while the AMQP connection is open
 * pgamqp_broker_owned{broker}                   gauge    1 while this bridge holds the broker's advisory lock
 * pgamqp_outbox_backlog_rows{broker}            gauge    rows waiting in amqp.outbox, last sample
 * pgamqp_outbox_oldest_age_seconds{broker}      gauge    age of the oldest waiting row, last sample
 * pgamqp_held_destinations{broker}              gauge    destinations held (refused, e.g. missing exchange)
 * pgamqp_held_messages_rows{broker}             gauge    messages waiting for held destinations, last sample
 * pgamqp_held_destination_messages_rows{broker,exchange}  gauge  per held destination (the 20 held longest)
 * pgamqp_held_destination_age_seconds{broker,exchange}    gauge  how long it has been held (the same 20)
 * </pre>
 * and {@code jvm_memory_*}, {@code jvm_gc_*}, {@code jvm_threads_*}, {@code jvm_classes_*}, {@code process_cpu_usage},
 * {@code system_cpu_*}, {@code process_uptime_seconds}, {@code process_start_time_seconds}.
 *
 * <p>Design: a broker's meters are created on its first call and cached in a {@link ConcurrentHashMap} keyed by
 * {@code broker_id}, so a call is one map read and an atomic add — no registry lookup, no tag arrays, no allocation
 * (ids up to 127 box to cached Integers; larger ones may allocate one). Gauges read fields of the cached holder.
 *
 * <p>Threading: thread-safe; see {@link BridgeMetrics}. Close it to stop the GC listener.
 */
public final class MicrometerBridgeMetrics implements BridgeMetrics, AutoCloseable {

  /** The Prometheus text exposition format {@link #scrape} writes. */
  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  // Batch sizes are bounded by pgamqp.bridge.batch-size (at most 10000): fixed buckets that read well in Grafana.
  private static final double[] BATCH_SIZE_BUCKETS = {1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
  private static final Duration LATENCY_MIN = Duration.ofMillis(1);
  private static final Duration LATENCY_MAX = Duration.ofMinutes(2);

  private final PrometheusMeterRegistry registry;
  private final JvmGcMetrics gcMetrics;
  private final ConcurrentHashMap<Integer, BrokerMeters> brokers = new ConcurrentHashMap<>();

  /** A new Prometheus registry with the JVM metrics bound. */
  public MicrometerBridgeMetrics() {
    this(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
  }

  /** Registers on {@code registry} (which this object then owns and closes), binding the JVM metrics to it. */
  public MicrometerBridgeMetrics(PrometheusMeterRegistry registry) {
    this.registry = registry;
    new JvmMemoryMetrics().bindTo(registry);
    gcMetrics = new JvmGcMetrics();
    gcMetrics.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
  }

  /** The underlying registry, to add meters of one's own. */
  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** Writes every metric in the Prometheus text format ({@link #CONTENT_TYPE}). */
  public void scrape(OutputStream out) throws IOException {
    registry.scrape(out, CONTENT_TYPE);
  }

  /** {@link #scrape(OutputStream)} as a string. */
  public String scrape() {
    return registry.scrape(CONTENT_TYPE);
  }

  @Override
  public void published(int brokerId, int messages) {
    meters(brokerId).published.increment(messages);
  }

  @Override
  public void confirmed(int brokerId, int messages) {
    meters(brokerId).confirmed.increment(messages);
  }

  @Override
  public void nacked(int brokerId, int messages) {
    meters(brokerId).nacked.increment(messages);
  }

  @Override
  public void returned(int brokerId, int messages) {
    meters(brokerId).returned.increment(messages);
  }

  @Override
  public void timedOut(int brokerId, int messages) {
    meters(brokerId).timedOut.increment(messages);
  }

  @Override
  public void deadLettered(int brokerId, int messages) {
    meters(brokerId).deadLettered.increment(messages);
  }

  @Override
  public void retried(int brokerId, int messages) {
    meters(brokerId).retried.increment(messages);
  }

  @Override
  public void confirmLatency(int brokerId, long nanos) {
    meters(brokerId).confirmLatency.record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void outboxQuery(int brokerId, OutboxQuery query, long nanos) {
    meters(brokerId).outboxQueries.get(query).record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void batchSize(int brokerId, int rows) {
    meters(brokerId).batchSize.record(rows);
  }

  @Override
  public void reconnect(int brokerId) {
    meters(brokerId).reconnects.increment();
  }

  @Override
  public void connectionState(int brokerId, boolean connected) {
    meters(brokerId).connected = connected ? 1 : 0;
  }

  @Override
  public void owned(int brokerId, boolean owned) {
    meters(brokerId).owned = owned ? 1 : 0;
  }

  /**
   * Per held destination, the 20 held longest: an exchange label is the publishers' to choose (any role may publish
   * to a name that does not exist), so its series are capped; amqp.status lists every one.
   */
  static final int HELD_SERIES = 20;

  @Override
  public void held(int brokerId, List<HeldSample> held) {
    BrokerMeters m = meters(brokerId);
    long rows = 0;
    for (HeldSample h : held) {
      rows += h.waiting();
    }
    m.heldRows = rows;
    synchronized (m.heldSeries) {
      Map<String, HeldSample> shown = new java.util.LinkedHashMap<>();
      for (HeldSample h : held.subList(0, Math.min(HELD_SERIES, held.size()))) {
        shown.put(h.exchange(), h);
      }
      for (java.util.Iterator<Map.Entry<String, HeldSeries>> it = m.heldSeries.entrySet().iterator(); it.hasNext(); ) {
        Map.Entry<String, HeldSeries> e = it.next();
        if (!shown.containsKey(e.getKey())) {
          e.getValue().remove(registry);
          it.remove();
        }
      }
      shown.forEach((exchange, h) -> {
        HeldSeries s = m.heldSeries.computeIfAbsent(exchange, x -> new HeldSeries(registry, brokerId, x));
        s.waiting = h.waiting();
        s.ageSeconds = h.ageSeconds();
      });
    }
  }

  /** The two gauges of one held destination; they read the volatile fields. */
  private static final class HeldSeries {
    volatile long waiting;
    volatile double ageSeconds;
    private final Gauge waitingGauge;
    private final Gauge ageGauge;

    HeldSeries(PrometheusMeterRegistry registry, int brokerId, String exchange) {
      Tags tags = Tags.of("broker", Integer.toString(brokerId), "exchange", exchange);
      waitingGauge = Gauge.builder("pgamqp.held.destination.messages", this, s -> s.waiting)
          .description("Messages waiting for a held destination (counted up to 100,000), as last sampled")
          .baseUnit("rows").tags(tags).strongReference(true).register(registry);
      ageGauge = Gauge.builder("pgamqp.held.destination.age", this, s -> s.ageSeconds)
          .description("How long a held destination has been held, since the broker first refused it")
          .baseUnit("seconds").tags(tags).strongReference(true).register(registry);
    }

    void remove(PrometheusMeterRegistry registry) {
      registry.remove(waitingGauge);
      registry.remove(ageGauge);
    }
  }

  @Override
  public void heldDestination(int brokerId, int delta) {
    meters(brokerId).held.addAndGet(delta);
  }

  @Override
  public void backlog(int brokerId, long rows, double oldestAgeSeconds) {
    BrokerMeters m = meters(brokerId);
    m.backlogRows = rows;
    m.oldestAgeSeconds = oldestAgeSeconds;
  }

  @Override
  public void brokerRemoved(int brokerId) {
    BrokerMeters m = brokers.remove(brokerId);
    if (m != null) {
      m.all.forEach(registry::remove);
      synchronized (m.heldSeries) {
        m.heldSeries.values().forEach(h -> h.remove(registry));
        m.heldSeries.clear();
      }
    }
  }

  @Override
  public void close() {
    gcMetrics.close();
    registry.close();
  }

  private BrokerMeters meters(int brokerId) {
    BrokerMeters m = brokers.get(brokerId);
    return m != null ? m : brokers.computeIfAbsent(brokerId, id -> new BrokerMeters(registry, id));
  }

  /** One broker's meters; gauges read the volatile fields. */
  private static final class BrokerMeters {
    final Counter published;
    final Counter confirmed;
    final Counter nacked;
    final Counter returned;
    final Counter timedOut;
    final Counter deadLettered;
    final Counter retried;
    final Counter reconnects;
    final Timer confirmLatency;
    final DistributionSummary batchSize;
    final Map<OutboxQuery, Timer> outboxQueries = new EnumMap<>(OutboxQuery.class);
    final List<Meter> all;
    volatile int connected;
    volatile int owned;
    volatile long backlogRows;
    volatile double oldestAgeSeconds;
    final java.util.concurrent.atomic.AtomicInteger held = new java.util.concurrent.atomic.AtomicInteger();
    volatile long heldRows;
    final Map<String, HeldSeries> heldSeries = new java.util.HashMap<>(); // guarded by itself

    BrokerMeters(PrometheusMeterRegistry registry, int brokerId) {
      Tags tags = Tags.of("broker", Integer.toString(brokerId));
      published = counter(registry, "pgamqp.messages.published", "Messages sent with basicPublish", tags);
      confirmed = counter(registry, "pgamqp.messages.confirmed",
          "Messages confirmed by the broker and deleted from the outbox", tags);
      nacked = counter(registry, "pgamqp.messages.nacked", "Messages rejected by the broker (basic.nack)", tags);
      returned = counter(registry, "pgamqp.messages.returned",
          "Messages returned as unroutable (basic.return of a mandatory publish)", tags);
      timedOut = counter(registry, "pgamqp.messages.timed.out",
          "Messages without a publisher confirm within pgamqp.bridge.confirm-timeout", tags);
      deadLettered = counter(registry, "pgamqp.messages.dead.lettered", "Messages moved to amqp.dead_letter", tags);
      retried = counter(registry, "pgamqp.messages.retried",
          "Messages left in the outbox to be sent again after a failed or cut-off attempt", tags);
      reconnects = counter(registry, "pgamqp.broker.reconnects",
          "Connection attempts after a failed attempt or a lost, closed or replaced connection", tags);
      confirmLatency = Timer.builder("pgamqp.batch.confirm.latency")
          .description("Time from a batch's first basicPublish until its last row had the broker's answer")
          .tags(tags)
          .publishPercentileHistogram()
          .minimumExpectedValue(LATENCY_MIN)
          .maximumExpectedValue(LATENCY_MAX)
          .register(registry);
      batchSize = DistributionSummary.builder("pgamqp.batch.size")
          .description("Outbox rows per claimed and published batch")
          .baseUnit("rows")
          .tags(tags)
          .serviceLevelObjectives(BATCH_SIZE_BUCKETS)
          .register(registry);
      Gauge connectedGauge = Gauge.builder("pgamqp.broker.connected", this, m -> m.connected)
          .description("1 while the AMQP connection to the broker is open, else 0")
          .tags(tags).strongReference(true).register(registry);
      Gauge ownedGauge = Gauge.builder("pgamqp.broker.owned", this, m -> m.owned)
          .description("1 while this bridge holds the broker's advisory lock (drains it), else 0")
          .tags(tags).strongReference(true).register(registry);
      Gauge backlogGauge = Gauge.builder("pgamqp.outbox.backlog", this, m -> m.backlogRows)
          .description("Rows waiting in amqp.outbox for the broker, as last sampled")
          .baseUnit("rows").tags(tags).strongReference(true).register(registry);
      Gauge oldestGauge = Gauge.builder("pgamqp.outbox.oldest.age", this, m -> m.oldestAgeSeconds)
          .description("Age of the oldest row waiting in amqp.outbox for the broker, as last sampled")
          .baseUnit("seconds").tags(tags).strongReference(true).register(registry);
      Gauge heldGauge = Gauge.builder("pgamqp.held.destinations", this, m -> Math.max(0, m.held.get()))
          .description("Destinations (exchanges) held because the broker refused them; their messages wait in order")
          .tags(tags).strongReference(true).register(registry);
      Gauge heldRowsGauge = Gauge.builder("pgamqp.held.messages", this, m -> m.heldRows)
          .description("Messages waiting in amqp.outbox for the broker's held destinations, as last sampled")
          .baseUnit("rows").tags(tags).strongReference(true).register(registry);
      for (OutboxQuery q : OutboxQuery.values()) {
        outboxQueries.put(q, Timer.builder("pgamqp.outbox.query")
            .description("Time of the bridge's outbox queries (claim, sweep, settle), pool wait included")
            .tags(tags.and("query", q.name().toLowerCase(Locale.ROOT)))
            .publishPercentileHistogram()
            .minimumExpectedValue(LATENCY_MIN)
            .maximumExpectedValue(LATENCY_MAX)
            .register(registry));
      }
      List<Meter> meters = new ArrayList<>(List.of(published, confirmed, nacked, returned, timedOut,
          deadLettered, retried, reconnects, confirmLatency, batchSize, connectedGauge, ownedGauge, backlogGauge,
          oldestGauge, heldGauge, heldRowsGauge));
      meters.addAll(outboxQueries.values());
      all = List.copyOf(meters);
    }

    private static Counter counter(PrometheusMeterRegistry registry, String name, String description, Tags tags) {
      return Counter.builder(name).description(description).tags(tags).register(registry);
    }
  }
}
