package io.pgamqp.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.rabbitmq.client.Delivery;
import io.pgamqp.testkit.AmqpTestClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What arrived at a queue, with the assertions the end-to-end tests make on it: exactly once, in order, and failure
 * messages that say what was missing, extra or duplicated instead of dumping thousands of messages.
 *
 * <p>Immutable; not tied to a thread.
 */
final class Deliveries {
  private static final int SHOWN = 10;

  private final List<Delivery> all;

  private Deliveries(List<Delivery> all) {
    this.all = List.copyOf(all);
  }

  /** Consumes {@code queue} until {@code expected} messages (and then a quiet period) or {@code timeout}. */
  static Deliveries drain(AmqpTestClient amqp, String queue, int expected, Duration timeout) {
    return new Deliveries(amqp.drain(queue, expected, timeout));
  }

  static Deliveries of(List<Delivery> deliveries) {
    return new Deliveries(deliveries);
  }

  /** These deliveries followed by {@code later} ones. */
  Deliveries and(Deliveries later) {
    List<Delivery> both = new ArrayList<>(all);
    both.addAll(later.all);
    return new Deliveries(both);
  }

  int size() {
    return all.size();
  }

  List<Delivery> list() {
    return all;
  }

  List<String> bodies() {
    return all.stream().map(d -> new String(d.getBody(), StandardCharsets.UTF_8)).toList();
  }

  List<String> messageIds() {
    return all.stream().map(d -> d.getProperties().getMessageId()).toList();
  }

  /** The one delivery; fails unless exactly one arrived. */
  Delivery only() {
    assertEquals(1, all.size(), () -> "expected exactly one delivery, got " + summary(bodies()));
    return all.get(0);
  }

  /** Bodies that arrived more than once, with how often. */
  Map<String, Integer> duplicateBodies() {
    Map<String, Integer> counts = new LinkedHashMap<>();
    for (String b : bodies()) {
      counts.merge(b, 1, Integer::sum);
    }
    counts.values().removeIf(n -> n == 1);
    return counts;
  }

  /**
   * Asserts that exactly {@code expected} arrived, each once, in that order (the outbox id order), each with
   * {@code message_id} = its outbox id and its body.
   */
  void assertExactly(List<Published.Message> expected) {
    assertBodiesExactlyOnce(Published.bodiesOf(expected));
    List<String> bodies = bodies();
    List<String> ids = messageIds();
    for (int i = 0; i < expected.size(); i++) {
      Published.Message m = expected.get(i);
      if (!m.body().equals(bodies.get(i)) || !String.valueOf(m.id()).equals(ids.get(i))) {
        fail("out of order or wrong message_id at position " + i + ": expected id " + m.id() + " body '" + m.body()
            + "', got message_id " + ids.get(i) + " body '" + bodies.get(i) + "' (" + expected.size() + " messages)");
      }
    }
  }

  /** Asserts that exactly the bodies {@code expected} arrived, each once, in any order. */
  void assertBodiesExactlyOnce(Collection<String> expected) {
    List<String> bodies = bodies();
    Set<String> want = new LinkedHashSet<>(expected);
    if (want.size() != expected.size()) {
      throw new IllegalArgumentException("the expected bodies are not distinct");
    }
    Set<String> got = new LinkedHashSet<>(bodies);
    Map<String, Integer> dups = duplicateBodies();
    if (got.equals(want) && dups.isEmpty()) {
      return;
    }
    List<String> missing = new ArrayList<>();
    for (String b : want) {
      if (!got.contains(b)) {
        missing.add(b);
      }
    }
    List<String> extra = new ArrayList<>();
    for (String b : got) {
      if (!want.contains(b)) {
        extra.add(b);
      }
    }
    fail("expected " + want.size() + " distinct messages once each, " + bodies.size() + " arrived: "
        + missing.size() + " missing " + summary(missing) + ", " + extra.size() + " unexpected " + summary(extra)
        + ", " + dups.size() + " duplicated " + summary(List.copyOf(dups.keySet())));
  }

  /**
   * Asserts at-least-once delivery after a crash: every one of {@code expected} arrived, nothing else did, only those
   * whose id is in {@code mayRepeat} (the rows not yet settled when the owner died) arrived more than once, and first
   * arrivals are in id order. Returns the number of duplicate deliveries.
   */
  int assertAtLeastOnce(List<Published.Message> expected, Set<Long> mayRepeat) {
    Map<String, Long> idOf = new LinkedHashMap<>();
    for (Published.Message m : expected) {
      idOf.put(m.body(), m.id());
    }
    Set<String> seen = new LinkedHashSet<>();
    List<String> badRepeats = new ArrayList<>();
    List<String> unexpected = new ArrayList<>();
    int duplicates = 0;
    long lastFirstId = Long.MIN_VALUE;
    for (String b : bodies()) {
      Long id = idOf.get(b);
      if (id == null) {
        unexpected.add(b);
      } else if (!seen.add(b)) {
        duplicates++;
        if (!mayRepeat.contains(id)) {
          badRepeats.add(b);
        }
      } else {
        if (id < lastFirstId) {
          fail("first arrival of '" + b + "' (id " + id + ") after id " + lastFirstId + ": not in id order");
        }
        lastFirstId = id;
      }
    }
    List<String> missing = new ArrayList<>(idOf.keySet());
    missing.removeAll(seen);
    if (!missing.isEmpty() || !unexpected.isEmpty() || !badRepeats.isEmpty()) {
      fail(expected.size() + " expected, " + size() + " arrived: " + missing.size() + " missing " + summary(missing)
          + ", " + unexpected.size() + " unexpected " + summary(unexpected) + ", " + badRepeats.size()
          + " repeated though settled before the crash " + summary(badRepeats));
    }
    return duplicates;
  }

  /** Asserts that none of {@code bodies} arrived. */
  void assertNoneOf(Collection<String> bodies) {
    List<String> arrived = new ArrayList<>(bodies());
    arrived.retainAll(bodies);
    if (!arrived.isEmpty()) {
      fail("these must never arrive, but did: " + summary(arrived));
    }
  }

  static String summary(List<String> items) {
    if (items.size() <= SHOWN) {
      return items.toString();
    }
    return items.subList(0, SHOWN) + " and " + (items.size() - SHOWN) + " more";
  }
}
