package io.pgamqp.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Runs the harness tiny against the machine's PostgreSQL and RabbitMQ so it cannot rot. No timing is asserted. */
class EndToEndSmokeTest {
  @Test
  void smokeRunPrintsTheTableWithEveryMessageDrained() throws Exception {
    String table = EndToEnd.run(EndToEnd.Options.parse(new String[] {"--smoke"}));
    assertTrue(table.contains("| drain persistent (msg/s) |"), table);
    assertTrue(table.contains("| drain transient (msg/s) |"), table);
    assertTrue(table.contains("duplicates 0"), table);
  }
}
