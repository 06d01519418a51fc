package io.pgamqp.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.pgamqp.outbox.StatusView;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code status} without a database: options, formatting of a fixed reading, an unreachable database. */
class StatusCommandTest {

  private static final Instant NOW = Instant.parse("2024-11-27T10:00:00Z");

  private static Instant ago(long seconds) {
    return NOW.minusSeconds(seconds);
  }

  @Test
  void rendersOneAlignedLinePerBrokerAndTheLastErrorsBelow() {
    List<StatusView.Row> rows = List.of(
        new StatusView.Row(1, "rabbit-a:5672, rabbit-b:5672", 87_660, false, Duration.ofSeconds(42), 0, false,
            null, null, "bridge-1:4242", ago(3_720), "rabbit-a:5672", ago(192), ago(0), false),
        new StatusView.Row(2, "rabbit-c:5672", 0, false, null, 3, false,
            "connection refused\n  (rabbit-c:5672)", ago(65), "bridge-1:4242", ago(3_720), null, null, ago(300),
            false),
        new StatusView.Row(17, "[::1]:5672", 100_000, true, Duration.ofHours(2).plusMinutes(5), 100_000, true,
            null, null, null, null, null, null, null, false),
        new StatusView.Row(4, "rabbit-d:5672", 0, false, null, 0, false, null, null, "bridge-2:77", ago(90_000),
            "rabbit-d:5672", ago(90_000), ago(12), true));

    String screen = StatusCommand.render(new StatusView.Reading(rows, NOW), "jdbc:postgresql://db/app");

    assertEquals("""
        pgamqp status of jdbc:postgresql://db/app at 2024-11-27 10:00:00 UTC

        BROKER  STATE         OWNER          CONNECTED TO   UP     BACKLOG   OLDEST  DEAD      LAST CONFIRM  ADDRESSES
        1       running       bridge-1:4242  rabbit-a:5672  3m12s  87,660    42s     0         0s ago        rabbit-a:5672, rabbit-b:5672
        2       disconnected  bridge-1:4242  -              -      0         -       3         5m ago        rabbit-c:5672
        17      unowned       -              -              -      100,000+  2h5m    100,000+  never         [::1]:5672
        4       idle          bridge-2:77    rabbit-d:5672  1d1h   0         -       0         12s ago       rabbit-d:5672

        broker 2: last error 1m5s ago: connection refused (rabbit-c:5672)
        """, screen);
  }

  @Test
  void saysSoWhenThereAreNoBrokers() {
    assertEquals("pgamqp status of jdbc:postgresql://db/app at 2024-11-27 10:00:00 UTC\n\nno brokers in amqp.broker\n",
        StatusCommand.render(new StatusView.Reading(List.of(), NOW), "jdbc:postgresql://db/app"));
  }

  @Test
  void humanDurations() {
    assertEquals("0s", StatusView.human(Duration.ZERO));
    assertEquals("<1s", StatusView.human(Duration.ofMillis(300)));
    assertEquals("42s", StatusView.human(Duration.ofSeconds(42)));
    assertEquals("3m12s", StatusView.human(Duration.ofSeconds(192)));
    assertEquals("5m", StatusView.human(Duration.ofMinutes(5)));
    assertEquals("1h2m", StatusView.human(Duration.ofSeconds(3_725)));
    assertEquals("2d3h", StatusView.human(Duration.ofHours(51).plusMinutes(59)));
    assertEquals("0s", StatusView.human(Duration.ofSeconds(-5)), "clock skew shows as 0");
  }

  @Test
  void watchOption() {
    assertNull(StatusCommand.parseWatch(new String[0]));
    assertEquals(2.0, StatusCommand.parseWatch(new String[] {"--watch"}));
    assertEquals(5.0, StatusCommand.parseWatch(new String[] {"--watch", "5"}));
    assertEquals(0.5, StatusCommand.parseWatch(new String[] {"-w", "0.5"}));
    assertEquals(10.0, StatusCommand.parseWatch(new String[] {"--watch=10"}));
    assertThrows(IllegalArgumentException.class, () -> StatusCommand.parseWatch(new String[] {"--watch", "0"}));
    assertThrows(IllegalArgumentException.class, () -> StatusCommand.parseWatch(new String[] {"--watch=soon"}));
    assertThrows(IllegalArgumentException.class, () -> StatusCommand.parseWatch(new String[] {"--verbose"}));
  }

  @Test
  void anUnknownOptionExitsTwoBeforeTouchingTheDatabase() {
    Output o = new Output();
    int code = StatusCommand.run(new String[] {"--frobnicate"}, unreachable(), o.out, o.err);
    assertEquals(2, code);
    assertEquals("pgamqp status: unknown option '--frobnicate'\n" + StatusCommand.USAGE + "\n", o.err());
    assertEquals("", o.out());
  }

  @Test
  void anUnreachableDatabaseExitsOneNamingIt() {
    Output o = new Output();
    int code = StatusCommand.run(new String[0], unreachable(), o.out, o.err);
    assertEquals(1, code);
    assertTrue(o.err().startsWith("pgamqp status: cannot connect to the database jdbc:postgresql://127.0.0.1:1/x ("),
        o.err());
    assertTrue(o.err().contains(") as postgres: "), o.err());
    assertEquals("", o.out());
  }

  /** Port 1 on loopback: refused at once. */
  private static Config unreachable() {
    return ConfigFactory.parseMap(Map.of("pgamqp.db.url", "jdbc:postgresql://127.0.0.1:1/x",
        "pgamqp.db.user", "postgres", "pgamqp.db.connect-timeout", "2s"))
        .withFallback(ConfigFactory.defaultReference()).resolve();
  }

  /** Captured standard output and error. */
  static final class Output {
    final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
    final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    final PrintStream out = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
    final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

    String out() {
      return outBytes.toString(StandardCharsets.UTF_8);
    }

    String err() {
      return errBytes.toString(StandardCharsets.UTF_8);
    }
  }
}
