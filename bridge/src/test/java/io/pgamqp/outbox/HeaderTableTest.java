package io.pgamqp.outbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HeaderTableTest {

  @Test
  void everyJsonTypeBecomesTheJavaTypeAmqpClientEncodesAsTheRightFieldType() {
    Map<String, Object> h = HeaderTable.parse("{\"s\": \"text\", \"i\": 42, \"neg\": -9223372036854775808,"
        + " \"d\": 2.5, \"whole\": 2.0, \"exp\": 1e-7, \"t\": true, \"f\": false, \"n\": null,"
        + " \"a\": [1, \"x\", [], {}], \"o\": {\"p\": {\"q\": null}}}");
    assertEquals("text", h.get("s"));
    assertEquals(42L, h.get("i"));
    assertEquals(Long.MIN_VALUE, h.get("neg"));
    assertEquals(2.5d, h.get("d"));
    assertEquals(2.0d, h.get("whole"));
    assertEquals(1e-7d, h.get("exp"));
    assertEquals(true, h.get("t"));
    assertEquals(false, h.get("f"));
    assertTrue(h.containsKey("n"));
    assertNull(h.get("n"));
    assertEquals(List.of(1L, "x", List.of(), Map.of()), h.get("a"));
    Map<?, ?> p = (Map<?, ?>) ((Map<?, ?>) h.get("o")).get("p");
    assertTrue(p.containsKey("q"));
    assertNull(p.get("q"));
  }

  @Test
  void keepsTheOrderPostgresqlWroteAndIsUnmodifiable() {
    Map<String, Object> h = HeaderTable.parse("{\"b\": 1, \"a\": 2, \"cc\": 3}");
    assertEquals(List.of("b", "a", "cc"), List.copyOf(h.keySet()));
    assertThrows(UnsupportedOperationException.class, () -> h.put("x", 1));
  }

  @Test
  void escapesAndNonAsciiTextDecode() {
    Map<String, Object> h = HeaderTable.parse("{\"k\\\"ey\": \"a\\\\b\\n\\t\\u00e9\\ud83d\\ude80 ü\"}");
    assertEquals("a\\b\n\té\uD83D\uDE80 ü", h.get("k\"ey"));
  }

  @Test
  void anIntegerBeyondLongIsSentAsADoubleRatherThanFailing() {
    assertEquals(1e20d, HeaderTable.parse("{\"n\": 100000000000000000000}").get("n"));
  }

  @Test
  void malformedInputOrAnOverlongNameIsRefusedNamingTheOffsetNotTheText() {
    for (String bad : List.of("[1]", "{\"a\": }", "{\"a\": 1", "{\"a\": 1} x", "{\"a\" 1}", "{\"a\": tru}",
        "{\"a\": \"\\q\"}", "{\"a\": \"open}", "{a: 1}", "")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HeaderTable.parse(bad), bad);
      assertTrue(e.getMessage().contains("at offset"), e.getMessage());
    }
    String longName = "é".repeat(128); // 256 bytes
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> HeaderTable.parse("{\"" + longName + "\": \"secret\"}"));
    assertEquals("headers: expected a header name of at most 255 bytes at offset 1", e.getMessage());
    assertFalse(e.getMessage().contains("secret"));
  }
}
