package io.pgamqp.broker;

import io.pgamqp.outbox.OutboxRow;
import io.pgamqp.outbox.Settlement;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the broker's answers for a batch into what happens to its outbox rows. Pure apart from logging, which is one
 * line per outcome and batch, not per row: any role can publish thousands of unroutable messages, and each failed row
 * keeps its reason in amqp.outbox.last_error or amqp.dead_letter anyway.
 */
final class Settlements {
  private static final Logger log = LoggerFactory.getLogger(Settlements.class);

  private Settlements() {}

  /** The rows of one batch with one outcome: how many, and the first of them with its reason. */
  private static final class Tally {
    private final String what;
    private final String noun;
    private final boolean info;
    private int count;
    private long firstId;
    private String firstReason;

    Tally(String what, String noun, boolean info) {
      this.what = what;
      this.noun = noun;
      this.info = info;
    }

    void add(long id, String reason) {
      if (count++ == 0) {
        firstId = id;
        firstReason = reason;
      }
    }

    void log(int brokerId) {
      if (count == 1) {
        log(info, "broker {}: {} {} {}: {}", brokerId, what, noun, firstId, firstReason);
      } else if (count > 1) {
        log(info, "broker {}: {} {} {}s of a batch, the first ({}): {}", brokerId, what, count, noun, firstId,
            firstReason);
      }
    }

    private static void log(boolean info, String format, Object... args) {
      if (info) {
        log.info(format, args);
      } else {
        log.warn(format, args);
      }
    }
  }

  /** The pause before a refused message's next attempt, by the attempts it has had. */
  interface RetryDelay {
    long millis(int attempts);
  }

  /** Refused messages retried in place, as before the deferral (tests of the other outcomes). */
  static Settlement from(int brokerId, ConfirmingPublisher.Published p, int maxAttempts, boolean dropUnroutable) {
    return from(brokerId, p, maxAttempts, dropUnroutable, null);
  }

  /**
   * {@code retryDelay} null: a refused message is retried in place (it then holds back every later message until its
   * retry); otherwise it is deferred by that delay, and the others go on.
   */
  static Settlement from(int brokerId, ConfirmingPublisher.Published p, int maxAttempts, boolean dropUnroutable,
      RetryDelay retryDelay) {
    List<OutboxRow> rows = p.batch().rows();
    List<Long> deleted = new ArrayList<>(rows.size());
    List<Settlement.Failed> retried = new ArrayList<>(0);
    List<Settlement.Failed> dead = new ArrayList<>(0);
    List<Settlement.Deferred> deferred = new ArrayList<>(0);
    List<Settlement.Declaration> declarations = new ArrayList<>(0);
    List<Settlement.Topology> topology = new ArrayList<>(0);
    boolean retry = false;
    Tally deadLettered = new Tally("dead-lettered", "message", false);
    Tally retrying = new Tally("retrying", "message", false);
    Tally deferring = new Tally("setting aside for its own retry", "message", false);
    Tally dropped = new Tally("dropped (on_unroutable = drop)", "message", true);
    Tally declareFailed = new Tally("could not apply", "exchange declaration", false);
    Tally topologyFailed = new Tally("could not apply", "queue or binding declaration", false);
    for (int i = 0; i < rows.size(); i++) {
      OutboxRow row = rows.get(i);
      String reason = p.reasons()[i];
      ConfirmingPublisher.Outcome outcome = p.outcomes()[i];
      if (outcome == null) {
        throw new IllegalStateException("unsettled row " + row.id());
      }
      switch (outcome) {
        case CONFIRMED -> deleted.add(row.id());
        case DECLARED, DECLARE_FAILED -> {
          deleted.add(row.id());
          if (row.isTopology()) {
            topology.add(new Settlement.Topology(row.topologyId(), reason));
            if (reason != null) {
              topologyFailed.add(row.id(), "'" + row.exchange() + "' (amqp.topology_declaration id "
                  + row.topologyId() + "): " + reason);
            }
          } else {
            declarations.add(new Settlement.Declaration(row.exchange(), reason));
            if (reason != null) {
              declareFailed.add(row.id(), "exchange '" + row.exchange() + "': " + reason);
            }
          }
        }
        case RETURNED -> {
          if (dropUnroutable) {
            deleted.add(row.id());
            dropped.add(row.id(), reason);
          } else {
            dead.add(new Settlement.Failed(row.id(), reason));
            deadLettered.add(row.id(), reason);
          }
        }
        case NACKED, TIMED_OUT, FAILED -> {
          if (retryDelay == null) {
            retry = true; // as before deferral: every failure restarts the stream, in order
          }
          int attempts = row.attempts() + 1;
          if (attempts >= maxAttempts) {
            String why = reason + " (gave up after " + attempts + " attempts)";
            dead.add(new Settlement.Failed(row.id(), why));
            deadLettered.add(row.id(), why);
          } else if (outcome != ConfirmingPublisher.Outcome.TIMED_OUT && retryDelay != null) {
            // Refused on its own account (a nack, a channel error it caused): its retry waits for nobody else.
            long delay = retryDelay.millis(attempts);
            deferred.add(new Settlement.Deferred(row.id(), reason, delay));
            deferring.add(row.id(), "attempt " + attempts + " of " + maxAttempts + " failed, next in " + delay
                + " ms: " + reason);
          } else {
            // A missing confirm is the broker's (or the link's) state, not the message's: retried in place, in order.
            retry = true;
            retried.add(new Settlement.Failed(row.id(), reason));
            retrying.add(row.id(), "attempt " + attempts + " of " + maxAttempts + " failed: " + reason);
          }
          if (outcome == ConfirmingPublisher.Outcome.FAILED) {
            retry = true; // its channel is closed: the stream goes on through a new one
          }
        }
        case UNSENDABLE -> { // whatever on_unroutable says: it reached no broker, and a retry cannot change that
          dead.add(new Settlement.Failed(row.id(), reason));
          deadLettered.add(row.id(), reason);
        }
        case NOT_SENT -> retry = true;
        case HELD -> { } // stays as it is, not an attempt: sent once its destination is back
        case HOLD_EXPIRED -> {
          dead.add(new Settlement.Failed(row.id(), reason));
          deadLettered.add(row.id(), reason);
        }
      }
    }
    for (Tally t : List.of(declareFailed, topologyFailed, dropped, deadLettered, retrying, deferring)) {
      t.log(brokerId);
    }
    return new Settlement(deleted, retried, dead, deferred, declarations, topology, retry);
  }
}
