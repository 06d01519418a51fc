package io.pgamqp.metrics;

/**
 * What the bridge reports about its work, per {@code broker_id}. Every method is a no-op by default, so an
 * implementation overrides only what it records (like HikariCP's {@code IMetricsTracker}); {@link #NONE} records
 * nothing. Implementations: {@link MicrometerBridgeMetrics} (Prometheus), {@link DrainProgress} (INFO log lines);
 * {@link #combine} sends every call to several.
 *
 * <p>Where the bridge calls what:
 * <ul>
 *   <li>once per settled batch, in the settle stage: the message counters, {@link #batchSize}
 *       ({@code io.pgamqp.broker.BatchMetrics#record} derives them all from the batch's outcomes and settlement);
 *   <li>once per batch, when its publish stage completes: {@link #confirmLatency};
 *   <li>on connection and ownership changes, in the broker's supervisor: {@link #connectionState},
 *       {@link #reconnect}, {@link #owned}; when the broker leaves {@code amqp.broker}: {@link #brokerRemoved};
 *   <li>periodically (every {@code pgamqp.bridge.progress-interval} or more often): {@link #backlog}.
 * </ul>
 *
 * <p>Threading: every method may be called from any thread, concurrently. Calls sit on the hot path (once per batch,
 * not per message): implementations must not block, and should not allocate. Counts are messages (outbox rows);
 * durations are nanoseconds unless a name says otherwise.
 */
public interface BridgeMetrics {

  /** Records nothing. */
  BridgeMetrics NONE = new BridgeMetrics() {};

  /** {@code messages} were sent with {@code basicPublish} (and await, or got, the broker's answer). */
  default void published(int brokerId, int messages) {}

  /** {@code messages} were confirmed (basic.ack, routed) and are deleted from the outbox. */
  default void confirmed(int brokerId, int messages) {}

  /** {@code messages} were rejected by the broker (basic.nack). */
  default void nacked(int brokerId, int messages) {}

  /** {@code messages} were returned as unroutable (basic.return of a mandatory publish). */
  default void returned(int brokerId, int messages) {}

  /** {@code messages} got no confirm within {@code pgamqp.bridge.confirm-timeout}. */
  default void timedOut(int brokerId, int messages) {}

  /** {@code messages} were moved to {@code amqp.dead_letter} (unroutable, or out of attempts). */
  default void deadLettered(int brokerId, int messages) {}

  /**
   * {@code messages} stay in the outbox to be sent again: a failed attempt (nack, confirm timeout, the channel error
   * they caused) below {@code max-attempts}, or cut off unsent or unconfirmed by a closed channel.
   */
  default void retried(int brokerId, int messages) {}

  /** One batch took {@code nanos} from its first {@code basicPublish} until its last row had the broker's answer. */
  default void confirmLatency(int brokerId, long nanos) {}

  /**
   * One outbox query of the bridge's hot path took {@code nanos}, from asking for a pooled connection to its result
   * (or commit): where a batch's database time goes.
   */
  default void outboxQuery(int brokerId, OutboxQuery query, long nanos) {}

  /** The queries {@link #outboxQuery} times. */
  enum OutboxQuery {
    /** Claiming the next batch after the cursor (with the snapshot and the lock check). */
    CLAIM,
    /** Fetching the rows of transactions that committed after the cursor passed them. */
    SWEEP,
    /** Deleting (or retrying, dead-lettering) a confirmed batch, in one transaction. */
    SETTLE,
    /** Moving delayed messages that fell due from amqp.scheduled into the outbox. */
    RELEASE
  }

  /** One batch of {@code rows} outbox rows (messages and queued exchange declarations) was claimed and published. */
  default void batchSize(int brokerId, int rows) {}

  /**
   * A connection attempt starts that follows a failed attempt or a lost, closed or replaced connection; not the
   * first attempt after this bridge took ownership of the broker.
   */
  default void reconnect(int brokerId) {}

  /** The AMQP connection to the broker is now open ({@code true}) or closed / not yet open ({@code false}). */
  default void connectionState(int brokerId, boolean connected) {}

  /** This bridge now holds ({@code true}) or no longer holds ({@code false}) the broker's advisory lock. */
  default void owned(int brokerId, boolean owned) {}

  /**
   * A sample of the broker's outbox: {@code rows} waiting (0 when drained) and the age of the oldest in seconds (0
   * when none). Gauges keep the last sample.
   */
  default void backlog(int brokerId, long rows, double oldestAgeSeconds) {}

  /** One destination more ({@code +1}) or fewer ({@code -1}) held for the broker (its messages wait). */
  default void heldDestination(int brokerId, int delta) {}

  /** A held destination as sampled: its exchange, how long it has been held, its messages waiting. */
  record HeldSample(String exchange, double ageSeconds, long waiting) {}

  /** A sample of the broker's held destinations, longest held first (empty when none). */
  default void held(int brokerId, java.util.List<HeldSample> held) {}

  /** The broker left {@code amqp.broker}: forget its series, so they stop being exported. */
  default void brokerRemoved(int brokerId) {}

  /** Sends every call to each of {@code targets}, in order. */
  static BridgeMetrics combine(BridgeMetrics... targets) {
    return new FanOutMetrics(targets);
  }
}
