package io.pgamqp.outbox;

import java.util.List;

/** Rows claimed together, in the order they must be published. Immutable. */
public record OutboxBatch(List<OutboxRow> rows) {
  public int size() {
    return rows.size();
  }
}
