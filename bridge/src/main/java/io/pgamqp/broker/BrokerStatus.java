package io.pgamqp.broker;

import java.time.Instant;
import java.util.Objects;
import java.util.Set;

/**
 * What one broker's supervisor in this bridge is doing, for {@code GET /health/ready}. Immutable.
 *
 * @param brokerId {@code amqp.broker.broker_id}
 * @param phase one of {@link #STANDBY}, {@link #CONNECTING}, {@link #RUNNING}, {@link #BACKOFF}, {@link #STOPPING}
 * @param owned this bridge holds the broker's advisory lock (drains it); a standby bridge does not
 * @param connectedTo {@code host:port} of the open AMQP connection, or null
 * @param lastError why the broker last failed (connect, channel or stream error, lost connection); null once a
 *     connection is running again, and before any failure
 * @param since when the current phase began, or null if unknown
 */
public record BrokerStatus(
    int brokerId, String phase, boolean owned, String connectedTo, String lastError, Instant since) {

  /** Another bridge drains the broker (or this one is still trying its lock): waiting to take over. */
  public static final String STANDBY = "standby";
  /** Opening the AMQP connection or channel, applying declarations. */
  public static final String CONNECTING = "connecting";
  /** Connected and draining the outbox. */
  public static final String RUNNING = "running";
  /** Waiting before the next attempt, after a failure ({@link #lastError} says which). */
  public static final String BACKOFF = "backoff";
  /** Letting in-flight confirms finish before stopping. */
  public static final String STOPPING = "stopping";

  private static final Set<String> PHASES = Set.of(STANDBY, CONNECTING, RUNNING, BACKOFF, STOPPING);

  public BrokerStatus {
    Objects.requireNonNull(phase, "phase");
    if (!PHASES.contains(phase)) {
      throw new IllegalArgumentException("phase must be one of " + PHASES + ", was '" + phase + "'");
    }
  }
}
