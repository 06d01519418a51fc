package io.pgamqp.outbox;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The AMQP headers table of a message from its {@code amqp.outbox.headers} (jsonb, as text): string -> long string
 * ({@link String}), integral number -> signed 64-bit ({@link Long}), other number -> {@link Double}, boolean, null
 * -> void, array -> array ({@link List}), object -> nested table ({@link Map}). amqp-client encodes exactly these
 * Java types so. Whether a number is integral goes by how PostgreSQL wrote it: {@code 2} is a long, {@code 2.0} a
 * double (jsonb keeps the written scale).
 *
 * <p>The input is PostgreSQL's jsonb output, checked by {@code amqp.message_headers}: a parser for the JSON grammar,
 * not a lenient one; anything else is an {@link IllegalArgumentException} naming the offset. Pure; thread-safe.
 */
public final class HeaderTable {

  private final String text;
  private int at;

  private HeaderTable(String text) {
    this.text = text;
  }

  /** The headers object in {@code json} as an unmodifiable, order-keeping map. */
  public static Map<String, Object> parse(String json) {
    HeaderTable p = new HeaderTable(json);
    p.space();
    if (p.peek() != '{') {
      throw p.error("a headers object");
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> table = (Map<String, Object>) p.value();
    p.space();
    if (p.at != json.length()) {
      throw p.error("the end of the headers");
    }
    return table;
  }

  private Object value() {
    space();
    char c = peek();
    switch (c) {
      case '{':
        return object();
      case '[':
        return array();
      case '"':
        return string();
      case 't':
        return literal("true", Boolean.TRUE);
      case 'f':
        return literal("false", Boolean.FALSE);
      case 'n':
        return literal("null", null);
      default:
        if (c == '-' || (c >= '0' && c <= '9')) {
          return number();
        }
        throw error("a JSON value");
    }
  }

  private Map<String, Object> object() {
    at++; // {
    Map<String, Object> map = new LinkedHashMap<>();
    space();
    if (peek() == '}') {
      at++;
      return Collections.unmodifiableMap(map);
    }
    while (true) {
      space();
      if (peek() != '"') {
        throw error("a header name");
      }
      int nameAt = at;
      String name = string();
      // AMQP field names are short strings; amqp-client would fail mid-publish (sequence number taken) on a longer one.
      if (name.getBytes(StandardCharsets.UTF_8).length > 255) {
        at = nameAt;
        throw error("a header name of at most 255 bytes");
      }
      space();
      expect(':');
      map.put(name, value());
      space();
      char c = next();
      if (c == '}') {
        return Collections.unmodifiableMap(map);
      }
      if (c != ',') {
        at--;
        throw error("',' or '}'");
      }
    }
  }

  private List<Object> array() {
    at++; // [
    List<Object> list = new ArrayList<>();
    space();
    if (peek() == ']') {
      at++;
      return Collections.unmodifiableList(list);
    }
    while (true) {
      list.add(value());
      space();
      char c = next();
      if (c == ']') {
        return Collections.unmodifiableList(list);
      }
      if (c != ',') {
        at--;
        throw error("',' or ']'");
      }
    }
  }

  private String string() {
    at++; // "
    StringBuilder b = null;
    int start = at;
    while (true) {
      if (at >= text.length()) {
        throw error("the end of a string");
      }
      char c = text.charAt(at);
      if (c == '"') {
        String s = b == null ? text.substring(start, at) : b.append(text, start, at).toString();
        at++;
        return s;
      }
      if (c != '\\') {
        at++;
        continue;
      }
      if (b == null) {
        b = new StringBuilder();
      }
      b.append(text, start, at);
      at++;
      char e = next();
      switch (e) {
        case '"', '\\', '/' -> b.append(e);
        case 'b' -> b.append('\b');
        case 'f' -> b.append('\f');
        case 'n' -> b.append('\n');
        case 'r' -> b.append('\r');
        case 't' -> b.append('\t');
        case 'u' -> {
          if (at + 4 > text.length()) {
            throw error("four hex digits");
          }
          try {
            b.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
          } catch (NumberFormatException ex) {
            throw error("four hex digits");
          }
          at += 4;
        }
        default -> {
          at--;
          throw error("an escape");
        }
      }
      start = at;
    }
  }

  private Object number() {
    int start = at;
    boolean integral = true;
    while (at < text.length()) {
      char c = text.charAt(at);
      if (c == '.' || c == 'e' || c == 'E') {
        integral = false;
      } else if (!(c == '-' || c == '+' || (c >= '0' && c <= '9'))) {
        break;
      }
      at++;
    }
    String n = text.substring(start, at);
    try {
      if (integral) {
        try {
          return Long.parseLong(n);
        } catch (NumberFormatException beyondLong) {
          // amqp.message_headers refuses these; were one stored by other means, send it as near as a double gets
        }
      }
      return Double.parseDouble(n);
    } catch (NumberFormatException e) {
      at = start;
      throw error("a number");
    }
  }

  private Object literal(String word, Object value) {
    if (!text.startsWith(word, at)) {
      throw error("a JSON value");
    }
    at += word.length();
    return value;
  }

  private void expect(char c) {
    if (next() != c) {
      at--;
      throw error("'" + c + "'");
    }
  }

  private char peek() {
    return at < text.length() ? text.charAt(at) : '\0';
  }

  private char next() {
    char c = peek();
    at++;
    return c;
  }

  private void space() {
    while (at < text.length()) {
      char c = text.charAt(at);
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
        return;
      }
      at++;
    }
  }

  private IllegalArgumentException error(String expected) {
    // The offset, never the text: header values stay out of logs and dead-letter reasons.
    return new IllegalArgumentException("headers: expected " + expected + " at offset " + at);
  }
}
