package io.pgamqp.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LogTextTest {

  @Test
  void controlCharactersCannotStartALineOfTheirOwn() {
    String forged = "1\n09:00:00.000 ERROR Bridge - password=hunter2\r\u001b[2J\u2028x\\n";
    String escaped = LogText.value(forged);
    assertEquals("1\\n09:00:00.000 ERROR Bridge - password=hunter2\\r\\u001b[2J\\u2028x\\\\n", escaped);
    assertFalse(escaped.chars().anyMatch(Character::isISOControl));
    assertEquals("plain text, kept as is", LogText.value("plain text, kept as is"));
    assertEquals("null", LogText.value(null));
  }

  @Test
  void longValuesAreCutAndSayHowLongTheyWere() {
    String cut = LogText.value("x".repeat(7000));
    assertTrue(cut.startsWith("x".repeat(LogText.MAX_VALUE_CHARS) + "... (7000 chars)"), cut);
    assertEquals(LogText.MAX_VALUE_CHARS + " (7000 chars)".length() + 3, cut.length());
  }

  @Test
  void passwordsInUrlsAreRedacted() {
    assertEquals("jdbc:postgresql://db:5432/app?user=bridge&password=****&ssl=true",
        LogText.url("jdbc:postgresql://db:5432/app?user=bridge&password=hunter2&ssl=true"));
    assertEquals("jdbc:postgresql://db/app?sslpassword=****&PASSWORD=****",
        LogText.url("jdbc:postgresql://db/app?sslpassword=k3y&PASSWORD=x"));
    assertEquals("amqp://guest:****@rabbit:5672/%2F", LogText.url("amqp://guest:s3cret@rabbit:5672/%2F"));
    assertEquals("jdbc:postgresql://127.0.0.1:5432/app", LogText.url("jdbc:postgresql://127.0.0.1:5432/app"));
  }
}
