package io.pgamqp.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Runs the harness tiny against the machine's PostgreSQL and RabbitMQ so it cannot rot. No timing is asserted. */
class EndToEndSmokeTest {
  @Test
  void smokeRunPrintsTheTableWithEveryPart() throws Exception {
    String table = EndToEnd.run(EndToEnd.Options.parse(new String[] {"--smoke"}));
    assertTrue(table.contains("| drain persistent (msg/s) |"), table);
    assertTrue(table.contains("| drain transient (msg/s) |"), table);
    assertTrue(table.contains("duplicates 0"), table);
    assertTrue(table.contains("| amqp.publish, 1-message tx (tps) |"), table);
    assertTrue(table.contains("publishes in one tx (s) |"), table);
    assertTrue(table.contains("messages via amqp.publish_many in one tx (s) |"), table);
    assertTrue(table.contains("| online latency commit -> receipt"), table);
    assertTrue(table.contains("persistent, bridge JVM -Xmx128m (msg/s) |"), table);
    assertTrue(table.contains("peak heap"), table);
  }
}
