package io.pgamqp.outbox;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Makes the claim cursor commit-order safe.
 *
 * <p>The source claims {@code id > cursor} and advances the cursor; a transaction that took a smaller id but commits
 * later would be skipped by a plain high-water mark (the classic outbox bug). Our publish functions obtain the
 * transaction's xid before the id's {@code nextval}, and ids come from one sequence without a cache, so such a late row
 * belongs to a transaction that was <em>running</em> in the snapshot of the claim that moved the cursor past its id.
 * We therefore remember, for every running xid, the id range the cursor crossed while it ran; once it finishes we
 * sweep only that range for its rows. Ranges of transactions that wrote nothing are swept for nothing, cheaply.
 *
 * <p>Not thread-safe: owned by one {@link OutboxSource} run.
 */
final class LateTransactions {

  /** Transactions to sweep for: ids in (from, to], written by one of {@code xids}. */
  record Sweep(long from, long to, long[] xids) {}

  private final Map<Long, long[]> ranges = new HashMap<>();

  /** Records a claim that saw {@code snapshot} and moved the cursor from {@code before} to {@code after}. */
  void claimed(Snapshot snapshot, long before, long after) {
    for (long xid : snapshot.running()) {
      long[] range = ranges.get(xid);
      if (range == null) {
        ranges.put(xid, new long[] {before, after});
      } else {
        range[1] = after;
      }
    }
  }

  /** Removes the transactions finished in {@code snapshot}; returns what to sweep for them, or null. */
  Sweep finished(Snapshot snapshot) {
    long from = Long.MAX_VALUE;
    long to = Long.MIN_VALUE;
    long[] xids = new long[4];
    int n = 0;
    for (Iterator<Map.Entry<Long, long[]>> it = ranges.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<Long, long[]> e = it.next();
      long xid = e.getKey();
      if (!snapshot.finished(xid)) {
        continue;
      }
      it.remove();
      long[] r = e.getValue();
      if (r[1] <= r[0]) {
        continue; // the cursor did not move while it ran: nothing can be behind it
      }
      from = Math.min(from, r[0]);
      to = Math.max(to, r[1]);
      if (n == xids.length) {
        xids = Arrays.copyOf(xids, n * 2);
      }
      xids[n++] = xid;
    }
    return n == 0 ? null : new Sweep(from, to, Arrays.copyOf(xids, n));
  }

  boolean tracks(long xid) {
    return ranges.containsKey(xid);
  }
}
