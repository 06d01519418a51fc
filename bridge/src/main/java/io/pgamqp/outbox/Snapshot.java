package io.pgamqp.outbox;

import java.util.Arrays;

/**
 * A parsed {@code pg_snapshot} ({@code xmin:xmax:xip,...}, xid8 values): which transactions were still running when a
 * claim query ran. Immutable.
 *
 * @param running sorted ascending
 */
public record Snapshot(long xmin, long xmax, long[] running) {

  /** Most xids added by {@link #parse(String, long)}; more can only be subtransactions of a huge transaction. */
  static final int MAX_UNLISTED = 65_536;

  /**
   * Like {@link #parse(String)}, but {@link #running()} also lists the xids in {@code [xmax, nextXid)}.
   *
   * <p>Why: a snapshot lists running xids only below its xmax (the newest <em>completed</em> xid + 1); a transaction
   * that took a newer xid than every completed one is invisible to it without being listed. Such a transaction can
   * still hold an id below rows the claim saw (xid first, then the id, but an older xid may take its id later), so
   * the claim cursor passes its row unseen. {@code nextXid} is the next xid to be assigned, read after the snapshot
   * was taken, so every transaction the snapshot treats as running but does not list lies in that range (usually
   * empty, otherwise about as many xids as there are writing sessions). Beyond {@link #MAX_UNLISTED} the remainder
   * is left to the stranded-row fallback.
   */
  public static Snapshot parse(String text, long nextXid) {
    Snapshot s = parse(text);
    long n = Math.min(nextXid - s.xmax, MAX_UNLISTED);
    if (n <= 0) {
      return s;
    }
    long[] running = Arrays.copyOf(s.running, s.running.length + (int) n);
    for (int i = 0; i < n; i++) {
      running[s.running.length + i] = s.xmax + i; // all above xmax, so the array stays sorted
    }
    return new Snapshot(s.xmin, s.xmax, running);
  }

  public static Snapshot parse(String text) {
    int a = text.indexOf(':');
    int b = text.indexOf(':', a + 1);
    if (a < 0 || b < 0) {
      throw new IllegalArgumentException("not a pg_snapshot: " + text);
    }
    long xmin = Long.parseLong(text.substring(0, a));
    long xmax = Long.parseLong(text.substring(a + 1, b));
    String rest = text.substring(b + 1);
    long[] running = rest.isEmpty()
        ? new long[0]
        : Arrays.stream(rest.split(",")).mapToLong(Long::parseLong).sorted().toArray();
    return new Snapshot(xmin, xmax, running);
  }

  /** True when {@code xid} had finished (committed or aborted) when this snapshot was taken. */
  public boolean finished(long xid) {
    if (xid < xmin) {
      return true;
    }
    return xid < xmax && Arrays.binarySearch(running, xid) < 0;
  }
}
