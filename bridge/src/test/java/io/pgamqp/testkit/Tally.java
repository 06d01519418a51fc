package io.pgamqp.testkit;

import static org.junit.jupiter.api.Assertions.fail;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Committed vs arrived. {@code lost}: committed, not dead-lettered, never arrived. {@code duplicates}: arrivals
 * beyond the first of a body. {@code orderViolations}: first arrivals of one publisher not in its commit order
 * (dead-lettered excluded).
 */
public record Tally(int committed, int arrived, int distinct, int lost, int duplicates, int unexpected, int deadLettered,
    List<String> orderViolations, List<String> lostSample) {

  /** A test rig whose deliveries can be tallied: what arrived so far, and what is left in its outbox. */
  public interface Rig {
    Tally tally() throws Exception;

    long outboxRows() throws Exception;
  }

  /**
   * Waits until {@code rig}'s outbox is empty and every committed, not dead-lettered body arrived (then a short quiet
   * period for duplicates still under way); returns the tally. Fails naming what is missing after {@code timeout}.
   */
  public static Tally awaitAll(Rig rig, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Tally t = rig.tally();
      if (t.lost() == 0 && rig.outboxRows() == 0) {
        Thread.sleep(500);
        return rig.tally();
      }
      if (System.nanoTime() > deadline) {
        fail("not all committed messages arrived within " + timeout.toSeconds() + " s: " + t + ", outbox rows "
            + rig.outboxRows());
      }
      Thread.sleep(100);
    }
  }

  /** The bodies in {@code db}'s amqp.dead_letter. */
  public static Set<String> deadLettered(TestDatabase db) throws SQLException {
    Set<String> bodies = new HashSet<>();
    try (Connection c = db.connect();
        ResultSet rs = c.createStatement().executeQuery("select body from amqp.dead_letter")) {
      while (rs.next()) {
        bodies.add(rs.getString(1));
      }
    }
    return bodies;
  }

  public static Tally of(Collection<String> committed, List<String> arrivals, Set<String> deadLettered) {
    Set<String> want = new HashSet<>(committed);
    Set<String> seen = new HashSet<>();
    int duplicates = 0;
    int unexpected = 0;
    Map<String, Integer> lastSeq = new HashMap<>();
    List<String> violations = new ArrayList<>();
    for (String b : arrivals) {
      if (!seen.add(b)) {
        duplicates++;
        continue;
      }
      if (!want.contains(b)) {
        unexpected++; // committed after the snapshot of `committed` was taken, or foreign
        continue;
      }
      if (deadLettered.contains(b)) {
        continue;
      }
      int dash = b.indexOf('-');
      String publisher = b.substring(0, dash);
      int dot = b.indexOf('.', dash);
      int seq = Integer.parseInt(b.substring(dash + 1, dot < 0 ? b.length() : dot));
      Integer last = lastSeq.put(publisher, seq);
      if (last != null && seq < last && violations.size() < 10) {
        violations.add(b + " after " + publisher + "-" + last);
      }
    }
    int lost = 0;
    List<String> sample = new ArrayList<>();
    for (String b : want) {
      if (!seen.contains(b) && !deadLettered.contains(b)) {
        lost++;
        if (sample.size() < 10) {
          sample.add(b);
        }
      }
    }
    int dead = 0;
    for (String b : deadLettered) {
      if (want.contains(b)) {
        dead++;
      }
    }
    return new Tally(want.size(), arrivals.size(), seen.size(), lost, duplicates, unexpected, dead, violations,
        sample);
  }

  /** Fails unless nothing was lost, nothing foreign arrived and order held; duplicates are allowed. */
  public void assertNothingLostInOrder() {
    if (lost != 0 || unexpected != 0 || !orderViolations.isEmpty()) {
      fail("delivery broken: " + this);
    }
  }

  @Override
  public String toString() {
    return "committed=" + committed + " arrived=" + arrived + " distinct=" + distinct + " lost=" + lost
        + (lostSample.isEmpty() ? "" : " e.g. " + lostSample) + " duplicates=" + duplicates + " unexpected="
        + unexpected + " dead-lettered=" + deadLettered + " order-violations=" + orderViolations;
  }
}
