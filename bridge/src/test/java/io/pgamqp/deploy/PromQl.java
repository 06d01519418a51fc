package io.pgamqp.deploy;

import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The metric names a PromQL expression (or a Grafana {@code label_values(metric, label)} query) selects: what must
 * exist in {@code /metrics} for the expression to show anything. Enough PromQL for our dashboard and alert rules:
 * strings, label matchers, ranges, grouping clauses, functions, keywords and numbers are not metric names.
 */
final class PromQl {
  private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\(\\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\\s*,");
  private static final Pattern STRINGS = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'");
  private static final Pattern MATCHERS = Pattern.compile("\\{[^}]*\\}");
  private static final Pattern RANGES = Pattern.compile("\\[[^\\]]*\\]");
  private static final Pattern GROUPING =
      Pattern.compile("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
  private static final Pattern IDENTIFIER = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\s*\\()?");
  private static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "bool", "offset", "by", "without", "on",
      "ignoring", "group_left", "group_right", "inf", "nan", "atan2");

  private PromQl() {}

  static Set<String> metricNames(String expression) {
    Set<String> names = new TreeSet<>();
    Matcher labelValues = LABEL_VALUES.matcher(expression);
    if (labelValues.find()) {
      names.add(labelValues.group(1));
      return names;
    }
    String rest = STRINGS.matcher(expression).replaceAll(" ");
    rest = MATCHERS.matcher(rest).replaceAll(" ");
    rest = RANGES.matcher(rest).replaceAll(" ");
    rest = GROUPING.matcher(rest).replaceAll(" ");
    rest = rest.replaceAll("\\$\\{?\\w+\\}?", " "); // Grafana variables such as $__rate_interval
    Matcher m = IDENTIFIER.matcher(rest);
    while (m.find()) {
      boolean function = m.group(2) != null;
      boolean partOfNumber = m.start() > 0 && Character.isDigit(rest.charAt(m.start() - 1)); // 1e3, 0x1f, 5m
      if (!function && !partOfNumber && !KEYWORDS.contains(m.group(1).toLowerCase(java.util.Locale.ROOT))) {
        names.add(m.group(1));
      }
    }
    return names;
  }
}
