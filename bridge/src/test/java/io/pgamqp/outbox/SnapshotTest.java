package io.pgamqp.outbox;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link Snapshot}: pg_snapshot text, the unlisted [xmax, next xid) range, and which xids had finished. No database. */
class SnapshotTest {

  static Stream<Arguments> parsed() {
    return Stream.of(
        // text, next xid (0: none given), xmin, xmax, running
        Arguments.of("100:100:", 0L, 100L, 100L, new long[0]),
        Arguments.of("100:105:", 0L, 100L, 105L, new long[0]),
        Arguments.of("100:110:104,101", 0L, 100L, 110L, new long[] {101, 104}),
        // next xid at or below xmax: nothing unlisted
        Arguments.of("100:110:104", 110L, 100L, 110L, new long[] {104}),
        Arguments.of("100:110:104", 90L, 100L, 110L, new long[] {104}),
        // xids assigned after the newest completed one are running but not listed: [xmax, next)
        Arguments.of("100:110:104", 113L, 100L, 110L, new long[] {104, 110, 111, 112}),
        Arguments.of("100:100:", 101L, 100L, 100L, new long[] {100}));
  }

  @ParameterizedTest(name = "{0} next {1}")
  @MethodSource("parsed")
  void parsesTheSnapshotAndListsTheUnlistedRunningXids(String text, long next, long xmin, long xmax, long[] running) {
    Snapshot s = next == 0 ? Snapshot.parse(text) : Snapshot.parse(text, next);
    assertEquals(xmin, s.xmin());
    assertEquals(xmax, s.xmax());
    assertArrayEquals(running, s.running(), () -> Arrays.toString(s.running()));
  }

  @Test
  void theUnlistedRangeIsBoundedAndTheRestLeftToTheStrandedFallback() {
    Snapshot s = Snapshot.parse("100:110:104", 110L + 10 * Snapshot.MAX_UNLISTED);
    assertEquals(1 + Snapshot.MAX_UNLISTED, s.running().length);
    assertEquals(110L + Snapshot.MAX_UNLISTED - 1, s.running()[s.running().length - 1]);
  }

  @ParameterizedTest(name = "[{index}] \"{0}\"")
  @ValueSource(strings = {"", "100", "100:110", "x:110:", "100:y:", "100:110:1,,2", "100:110:z"})
  void somethingThatIsNoSnapshotIsRejected(String text) {
    assertThrows(IllegalArgumentException.class, () -> Snapshot.parse(text));
  }

  @ParameterizedTest(name = "{0} next {1}: xid {2} finished = {3}")
  @CsvSource({
      // below xmin: finished, whatever the list says
      "100:110:104, 0,  99, true",
      "100:110:104, 0,   1, true",
      // between xmin and xmax: finished unless listed
      "100:110:104, 0, 100, true",
      "100:110:104, 0, 104, false",
      "100:110:104, 0, 109, true",
      // at or above xmax: not yet finished (it may not even have started)
      "100:110:104, 0, 110, false",
      "100:110:104, 0, 500, false",
      // the unlisted range counts as running too
      "100:110:104, 112, 111, false",
      "100:100:, 0, 100, false",
      "100:100:, 0, 99, true"})
  void tellsWhichTransactionsHadFinished(String text, long next, long xid, boolean finished) {
    Snapshot s = next == 0 ? Snapshot.parse(text) : Snapshot.parse(text, next);
    assertEquals(finished, s.finished(xid));
  }
}
