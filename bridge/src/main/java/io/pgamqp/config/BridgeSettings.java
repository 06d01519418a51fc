package io.pgamqp.config;

import com.typesafe.config.Config;
import java.time.Duration;

/** How the bridge drains the outbox: subtree {@code pgamqp.bridge}. Immutable; validated on creation. */
public record BridgeSettings(
    int batchSize,
    int batchesInFlight,
    Duration confirmTimeout,
    int maxAttempts,
    Duration idlePollMin,
    Duration idlePollMax,
    Duration linger,
    Duration fallbackPoll,
    Duration wakeupLease,
    Duration strandedAfter,
    Duration backoffMin,
    Duration backoffMax,
    double backoffJitter,
    Duration ownershipCheck,
    Duration brokerRefresh,
    Duration drainTimeout,
    Duration amqpHeartbeat,
    Duration amqpConnectTimeout,
    Duration progressInterval,
    Duration reclaimInterval,
    long reclaimAbove,
    Duration holdTimeout,
    BrokerAccess brokerAccess) {

  public static BridgeSettings create(Config config) {
    Settings s = new Settings(config, "pgamqp.bridge");
    BridgeSettings b = new BridgeSettings(
        s.positiveInt("batch-size"),
        s.positiveInt("batches-in-flight"),
        s.positiveDuration("confirm-timeout"),
        s.positiveInt("max-attempts"),
        s.positiveDuration("idle-poll-min"),
        s.positiveDuration("idle-poll-max"),
        s.positiveDuration("linger"),
        s.positiveDuration("fallback-poll"),
        s.positiveDuration("wakeup-lease"),
        s.positiveDuration("stranded-after"),
        s.positiveDuration("backoff-min"),
        s.positiveDuration("backoff-max"),
        s.fraction("backoff-jitter"),
        s.positiveDuration("ownership-check"),
        s.positiveDuration("broker-refresh"),
        s.positiveDuration("drain-timeout"),
        s.positiveDuration("amqp-heartbeat"),
        s.positiveDuration("amqp-connect-timeout"),
        s.positiveDuration("progress-interval"),
        s.positiveDuration("reclaim-interval"),
        s.positiveBytes("reclaim-above"),
        s.nonNegativeDuration("hold-timeout"),
        BrokerAccess.create(config));
    if (b.idlePollMax.compareTo(b.idlePollMin) < 0) {
      throw new ConfigError("setting pgamqp.bridge.idle-poll-max must not be below pgamqp.bridge.idle-poll-min");
    }
    if (b.wakeupLease.compareTo(b.fallbackPoll.multipliedBy(3)) < 0) {
      // Renewed at a fallback poll once half of it has passed: shorter, and it could lapse while the bridge sleeps.
      throw new ConfigError("setting pgamqp.bridge.wakeup-lease must be at least 3 x pgamqp.bridge.fallback-poll, was "
          + b.wakeupLease.toMillis() + " ms against " + b.fallbackPoll.toMillis() + " ms");
    }
    if (b.backoffMax.compareTo(b.backoffMin) < 0) {
      throw new ConfigError("setting pgamqp.bridge.backoff-max must not be below pgamqp.bridge.backoff-min");
    }
    if (b.batchSize > 10_000) {
      throw new ConfigError("setting pgamqp.bridge.batch-size must be at most 10000, was " + b.batchSize);
    }
    return b;
  }
}
