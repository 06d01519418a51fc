package io.pgamqp.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The options of {@code consume}; what it does is checked end to end by the README test. */
class ConsumeCommandTest {
  @Test
  void parsesQueueBindingBrokerCountAndTimeout() {
    assertEquals(new ConsumeCommand.Options("q", "orders", "order.#", 2, 3, 1.5),
        ConsumeCommand.Options.parse(new String[] {"q", "--bind", "orders:order.#", "--broker", "2", "--count", "3",
            "--timeout", "1.5"}));
    // Without a routing key the queue's name is the key, as for the default exchange.
    assertEquals(new ConsumeCommand.Options("q", "orders", "q", 1, -1, -1),
        ConsumeCommand.Options.parse(new String[] {"q", "--bind", "orders"}));
  }

  @Test
  void refusesWhatItCannotUse() {
    for (String[] bad : new String[][] {{}, {"--count", "1"}, {"q", "r"}, {"q", "--count", "0"}, {"q", "--count"},
        {"q", "--timeout", "-1"}, {"q", "--colour"}}) {
      assertThrows(IllegalArgumentException.class, () -> ConsumeCommand.Options.parse(bad), String.join(" ", bad));
    }
  }
}
