package io.pgamqp.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Runs the harness tiny against the machine's PostgreSQL and RabbitMQ so it cannot rot. No timing is asserted. */
class EndToEndSmokeTest {
  @Test
  void smokeRunPrintsTheTableWithEveryPart() throws Exception {
    String table = EndToEnd.run(EndToEnd.Options.parse(new String[] {"--smoke"}));
    for (String cell : new String[] {"persistent, manual-ack", "persistent, auto-ack", "transient, manual-ack",
        "transient, auto-ack"}) {
      assertTrue(table.contains("| drain " + cell + " (msg/s) |"), table);
    }
    assertTrue(table.contains("duplicates 0"), table);
    assertTrue(table.contains("| database time per drained message (µs) |"), table);
    for (String state : new String[] {"never started", "never started, publisher_role and max_pending_rows set",
        "bridge running (asleep, then draining)",
        "bridge stopped by SIGTERM while asleep", "bridge killed (kill -9) while asleep, after its lease"}) {
      assertTrue(table.contains("| amqp.publish, 1-message tx (tps): " + state + " |"), table);
    }
    assertTrue(table.contains("| 1-message tx (tps): never started, amqp.publish_json with a 5-key headers object |"),
        table);
    assertTrue(table.contains("publishes in one tx (s) |"), table);
    assertTrue(table.contains("messages via amqp.publish_many in one tx (s) |"), table);
    assertTrue(table.contains("-row INSERT with amqp.publish_changes, statement level (s) |"), table);
    // --smoke measures one load; a full run adds 25% and 75% for the latency-vs-load table.
    assertTrue(table.contains("| online latency at 50% commit -> receipt"), table);
    assertTrue(table.contains("CPU "), table);
    assertTrue(table.contains("persistent, bridge JVM -Xmx128m (msg/s) |"), table);
    assertTrue(table.contains("peak heap"), table);
    assertTrue(table.contains("| vacuum debt, autovacuum off:"), table);
    assertTrue(table.contains("| vacuum debt, autovacuum on:"), table);
    assertTrue(table.contains("delayed messages due next week (msg/s) |"), table);
    assertTrue(table.contains("| delayed message arrival after its deliver_at, low load"), table);
    assertTrue(table.contains("to a missing exchange (msg/s) |"), table);
  }
}
