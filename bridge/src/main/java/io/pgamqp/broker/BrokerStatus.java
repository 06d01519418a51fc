package io.pgamqp.broker;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What one broker's supervisor in this bridge is doing, for {@code GET /health/ready}. Immutable.
 *
 * @param brokerId {@code amqp.broker.broker_id}
 * @param phase what the supervisor is doing
 * @param owned this bridge holds the broker's advisory lock (drains it); a standby bridge does not
 * @param connectedTo {@code host:port} of the open AMQP connection, or null
 * @param lastError why the broker last failed (connect, channel or stream error, lost connection); null once a
 *     connection is running again, and before any failure
 * @param since when the current phase began, or null if unknown
 * @param held the exchanges held back (their messages wait, the others flow); empty when none
 */
public record BrokerStatus(
    int brokerId, Phase phase, boolean owned, String connectedTo, String lastError, Instant since,
    List<String> held) {

  /** Without held destinations. */
  public BrokerStatus(int brokerId, Phase phase, boolean owned, String connectedTo, String lastError, Instant since) {
    this(brokerId, phase, owned, connectedTo, lastError, since, List.of());
  }

  /** The phases of a {@link BrokerSupervisor}, as {@code /health/ready} names them ({@link #text()}). */
  public enum Phase {
    /** Another bridge drains the broker (or this one is still trying its lock): waiting to take over. */
    STANDBY,
    /** Opening the AMQP connection or channel, applying declarations. */
    CONNECTING,
    /** Connected and draining the outbox. */
    RUNNING,
    /** Waiting before the next attempt, after a failure ({@link #lastError} says which). */
    BACKOFF,
    /** Letting in-flight confirms finish before stopping. */
    STOPPING;

    private final String text = name().toLowerCase(Locale.ROOT);

    /** The lower-case name the JSON status shows. */
    public String text() {
      return text;
    }
  }

  public BrokerStatus {
    Objects.requireNonNull(phase, "phase");
    held = List.copyOf(held);
  }
}
