package io.pgamqp.logging;

import java.util.regex.Pattern;

/**
 * What may reach a log line from outside the bridge's own code. Any role can put text into the database (a NOTIFY
 * payload, an exchange name) and a broker's error texts echo such names back: a newline in them would forge a line of
 * its own, so every such value goes through {@link #value}. URLs go through {@link #url}: a JDBC or AMQP URL may carry
 * a password. Pure functions; thread-safe.
 */
public final class LogText {
  private LogText() {}

  /** The longest value kept whole; longer ones are cut, saying how long they were (a 7 kB payload is not news). */
  public static final int MAX_VALUE_CHARS = 200;

  // Query parameters that hold a secret (password=, sslpassword=, ...), and user:password@ before a host.
  private static final Pattern SECRET_PARAMETER =
      Pattern.compile("([?&;][^&#;=]*(?:password|passwd|pwd|secret|token)[^&#;=]*=)[^&#;]*", Pattern.CASE_INSENSITIVE);
  private static final Pattern USER_INFO = Pattern.compile("(//[^/@:?#]*):[^/@?#]*@");

  /**
   * {@code text} with control characters (CR, LF, tabs, ANSI escapes, U+2028 and the like) written as {@code \n},
   * {@code \r}, {@code \t} or {@code \}{@code uXXXX}, a backslash as {@code \\}, cut to {@link #MAX_VALUE_CHARS};
   * null stays "null".
   */
  public static String value(String text) {
    if (text == null) {
      return "null";
    }
    return escape(text, MAX_VALUE_CHARS);
  }

  /** {@code text} with control characters escaped as in {@link #value}, whatever its length; null stays null. */
  public static String escape(String text) {
    return text == null ? null : escape(text, Integer.MAX_VALUE);
  }

  private static String escape(String text, int maxChars) {
    int length = text.length();
    int end = Math.min(length, maxChars);
    StringBuilder out = null;
    for (int i = 0; i < end; i++) {
      char c = text.charAt(i);
      boolean special = c == '\\' || Character.isISOControl(c) || c == '\u2028' || c == '\u2029'
          || Character.getType(c) == Character.FORMAT;
      if (special && out == null) {
        out = new StringBuilder(end + 16).append(text, 0, i);
      }
      if (out != null) {
        switch (c) {
          case '\\' -> out.append("\\\\");
          case '\n' -> out.append("\\n");
          case '\r' -> out.append("\\r");
          case '\t' -> out.append("\\t");
          default -> {
            if (special) {
              out.append(String.format("\\u%04x", (int) c));
            } else {
              out.append(c);
            }
          }
        }
      }
    }
    String escaped = out == null ? text.substring(0, end) : out.toString();
    return length > end ? escaped + "... (" + length + " chars)" : escaped;
  }

  /** {@code url} with any password replaced by {@code ****}: in query parameters and in {@code user:password@}. */
  public static String url(String url) {
    if (url == null) {
      return "null";
    }
    String redacted = SECRET_PARAMETER.matcher(url).replaceAll("$1****");
    return USER_INFO.matcher(redacted).replaceAll("$1:****@");
  }
}
