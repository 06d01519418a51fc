package io.pgamqp.outbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link LateTransactions}, the commit-order safety of the claim cursor: which id ranges are swept, for which
 * transactions, and when. Each case is a run of claims (the snapshot each saw and how far it moved the cursor), then
 * the snapshot of a later claim; the expected sweep, and the xids still tracked (whose stranded rows the fallback
 * must leave to a later sweep). No database.
 */
class LateTransactionsTest {

  /** A claim that saw {@code snapshot} ({@code next}: the next xid, 0 for none) and moved the cursor. */
  record Claim(String snapshot, long next, long before, long after) {
    Snapshot parsed() {
      return next == 0 ? Snapshot.parse(snapshot) : Snapshot.parse(snapshot, next);
    }
  }

  private static Claim claim(String snapshot, long before, long after) {
    return new Claim(snapshot, 0, before, after);
  }

  private static Claim claim(String snapshot, long next, long before, long after) {
    return new Claim(snapshot, next, before, after);
  }

  /** {@code sweep}: "from,to,xid xid ..." or null for none. */
  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of("nothing running: nothing to sweep",
            List.of(claim("100:100:", 0, 10)), "101:101:", null, ""),
        Arguments.of("a transaction in flight while the cursor moved is swept once it finished",
            List.of(claim("100:105:103", 0, 10)), "104:106:", "0,10,103", ""),
        Arguments.of("still running: not swept, still tracked",
            List.of(claim("100:105:103", 0, 10)), "103:106:103", null, "103"),
        Arguments.of("its range grows with every claim it stays in flight for",
            List.of(claim("100:105:103", 0, 10), claim("100:105:103", 10, 25), claim("100:106:103", 25, 40)),
            "106:106:", "0,40,103", ""),
        Arguments.of("the cursor did not move while it ran: dropped without a sweep",
            List.of(claim("100:105:103", 7, 7)), "106:106:", null, ""),
        Arguments.of("xmax itself: above every completed xid, not listed, yet running",
            List.of(claim("100:105:", 106, 0, 10)), "106:106:", "0,10,105", ""),
        Arguments.of("the whole [xmax, next xid) hole",
            List.of(claim("100:105:", 108, 0, 10)), "108:108:", "0,10,105 106 107", ""),
        Arguments.of("transactions that finish together: one sweep over the union of their ranges",
            List.of(claim("100:105:101,103", 0, 10), claim("100:106:103", 10, 20)), "110:110:", "0,20,101 103", ""),
        Arguments.of("only the finished ones are swept; the others stay tracked",
            List.of(claim("100:105:101,103", 0, 10), claim("100:106:103", 10, 20)), "102:106:103", "0,10,101",
            "103"),
        Arguments.of("aborted or committed alike: a finished xid below xmin",
            List.of(claim("100:105:101", 5, 9)), "200:200:", "5,9,101", ""));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void sweepsTheRangesTheCursorCrossedWhileATransactionRan(String label, List<Claim> claims, String later,
      String sweep, String tracked) {
    LateTransactions late = new LateTransactions();
    List<Long> seen = new ArrayList<>();
    for (Claim c : claims) {
      Snapshot s = c.parsed();
      late.claimed(s, c.before(), c.after());
      Arrays.stream(s.running()).forEach(seen::add);
    }
    LateTransactions.Sweep got = late.finished(Snapshot.parse(later));
    if (sweep == null) {
      assertNull(got, () -> "no sweep expected, got " + got.from() + "," + got.to() + " " + Arrays.toString(got.xids()));
    } else {
      long[] xids = got.xids().clone();
      Arrays.sort(xids);
      String text = got.from() + "," + got.to() + "," + String.join(" ",
          Arrays.stream(xids).mapToObj(Long::toString).toList());
      assertEquals(sweep, text);
    }
    List<String> stillTracked = seen.stream().distinct().sorted().filter(late::tracks).map(String::valueOf).toList();
    assertEquals(tracked, String.join(" ", stillTracked));
    // What was swept is forgotten: a second look finds nothing more for it.
    LateTransactions.Sweep again = late.finished(Snapshot.parse(later));
    assertNull(again);
  }
}
