package io.pgamqp.outbox;

import java.util.Arrays;

/**
 * A parsed {@code pg_snapshot} ({@code xmin:xmax:xip,...}, xid8 values): which transactions were still running when a
 * claim query ran. Immutable.
 */
public record Snapshot(long xmin, long xmax, long[] running) {

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
