package io.pgamqp.broker;

import io.pgamqp.outbox.OutboxRow;
import io.pgamqp.outbox.Settlement;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Turns the broker's answers for a batch into what happens to its outbox rows. Pure apart from logging. */
final class Settlements {
  private static final Logger log = LoggerFactory.getLogger(Settlements.class);

  private Settlements() {}

  static Settlement from(int brokerId, ConfirmingPublisher.Published p, int maxAttempts, boolean dropUnroutable) {
    List<OutboxRow> rows = p.batch().rows();
    List<Long> deleted = new ArrayList<>(rows.size());
    List<Settlement.Failed> retried = new ArrayList<>(0);
    List<Settlement.Failed> dead = new ArrayList<>(0);
    List<Settlement.Declaration> declarations = new ArrayList<>(0);
    boolean retry = false;
    for (int i = 0; i < rows.size(); i++) {
      OutboxRow row = rows.get(i);
      String reason = p.reasons()[i];
      switch (p.outcomes()[i]) {
        case CONFIRMED -> deleted.add(row.id());
        case DECLARED, DECLARE_FAILED -> {
          deleted.add(row.id());
          declarations.add(new Settlement.Declaration(row.exchange(), reason));
          if (reason != null) {
            log.warn("broker {}: declaring exchange '{}' failed: {}", brokerId, row.exchange(), reason);
          }
        }
        case RETURNED -> {
          if (dropUnroutable) {
            deleted.add(row.id());
            log.info("broker {}: dropped message {} (on_unroutable = drop): {}", brokerId, row.id(), reason);
          } else {
            dead.add(new Settlement.Failed(row.id(), reason));
            log.warn("broker {}: dead-lettered message {}: {}", brokerId, row.id(), reason);
          }
        }
        case NACKED, TIMED_OUT, FAILED -> {
          retry = true;
          int attempts = row.attempts() + 1;
          if (attempts >= maxAttempts) {
            String why = reason + " (gave up after " + attempts + " attempts)";
            dead.add(new Settlement.Failed(row.id(), why));
            log.warn("broker {}: dead-lettered message {}: {}", brokerId, row.id(), why);
          } else {
            retried.add(new Settlement.Failed(row.id(), reason));
            log.warn("broker {}: message {} failed attempt {} of {}, will retry: {}",
                brokerId, row.id(), attempts, maxAttempts, reason);
          }
        }
        case NOT_SENT -> retry = true;
        default -> throw new IllegalStateException("unsettled row " + row.id());
      }
    }
    return new Settlement(deleted, retried, dead, declarations, retry);
  }
}
