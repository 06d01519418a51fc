package io.pgamqp.http;

import io.pgamqp.broker.BridgeStatus;
import io.pgamqp.broker.BrokerStatus;
import io.pgamqp.outbox.StatusView;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntToDoubleFunction;
import java.util.function.Supplier;

/**
 * {@code GET /}: one small, self-contained HTML page for operators — per broker its state, owner, backlog, oldest
 * pending age, confirm rate and dead letters, from {@code amqp.status} (so it agrees with {@code pgamqp status}) and
 * this node's own view. It reloads itself every {@link #REFRESH}; it has no script, no external style, font or
 * image, and its Content-Security-Policy forbids fetching anything. It shows addresses (host:port) and error texts
 * as amqp.status does, never a password, message body or header value, and escapes everything it prints.
 *
 * <p>Threading: {@link #render()} does not block; it completes on the database's or the actor system's threads (or
 * the timeout's), and the endpoint answers from its own threads. {@link #html} is a pure function.
 */
public final class OperationsPage {
  /** How often the page reloads itself. */
  public static final Duration REFRESH = Duration.ofSeconds(5);
  /** Sent with the page: nothing may be loaded from anywhere, inline style only. */
  static final String CONTENT_SECURITY_POLICY =
      "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
  private static final int MAX_ERROR_CHARS = 300;
  private static final DateTimeFormatter CLOCK =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT).withZone(ZoneOffset.UTC);

  private final Supplier<CompletionStage<StatusView.Reading>> reading;
  private final StatusSource local;
  private final IntToDoubleFunction rate;
  private final String database;
  private final Duration timeout;

  /**
   * @param reading reads amqp.status (off the caller's thread)
   * @param local this node's supervisors, as for readiness
   * @param rate messages per second this node confirmed per broker_id (see {@code ConfirmRate})
   * @param database the database's URL without credentials, for the heading
   * @param timeout how long to wait for each source before showing what is missing
   */
  public OperationsPage(Supplier<CompletionStage<StatusView.Reading>> reading, StatusSource local,
      IntToDoubleFunction rate, String database, Duration timeout) {
    this.reading = reading;
    this.local = local;
    this.rate = rate;
    this.database = database;
    this.timeout = timeout;
  }

  /** What one rendering shows: amqp.status or why it could not be read, and this node's view if it answered. */
  record View(StatusView.Reading reading, String readingError, BridgeStatus local, IntToDoubleFunction rate,
      String database) {
    View withLocal(BridgeStatus status) {
      return new View(reading, readingError, status, rate, database);
    }
  }

  /** The page, once both sources answered or timed out. */
  public CompletionStage<String> render() {
    CompletableFuture<StatusView.Reading> rows = start(reading::get);
    CompletableFuture<BridgeStatus> node = start(local::status);
    return rows.handle((r, e) -> new View(r, e == null ? null : describe(e), null, rate, database))
        .thenCombine(node.handle((s, e) -> s), (view, s) -> html(view.withLocal(s)));
  }

  private <T> CompletableFuture<T> start(Supplier<CompletionStage<T>> source) {
    try {
      return source.get().toCompletableFuture().orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private String describe(Throwable e) {
    while (e instanceof CompletionException && e.getCause() != null) {
      e = e.getCause();
    }
    if (e instanceof TimeoutException) {
      return "no answer within " + timeout.toMillis() + " ms";
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }

  /** The HTML of {@code view}: a summary, then one table row per broker ({@code data-broker}, {@code data-field}). */
  static String html(View view) {
    StringBuilder out = new StringBuilder(8 * 1024);
    out.append("""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta http-equiv="refresh" content="%d">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>pgamqp operations</title>
        <style>
        body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d2329;background:#f7f8fa}
        h1{font-size:1.3em;margin:0 0 .2em} .sub{color:#5b6670;margin:0 0 1em}
        .tiles{display:flex;gap:1em;margin:0 0 1em;flex-wrap:wrap}
        .tile{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:.6em 1em;min-width:9em}
        .tile b{display:block;font-size:1.6em} .tile.bad b{color:#b42318}
        table{border-collapse:collapse;background:#fff;border:1px solid #dde1e6;width:100%%}
        th,td{padding:.45em .7em;border-bottom:1px solid #eef0f3;text-align:left;vertical-align:top}
        th{background:#eef1f5;font-weight:600} td.n{text-align:right;font-variant-numeric:tabular-nums}
        .s{display:inline-block;padding:0 .5em;border-radius:9px;font-size:.9em}
        .running,.idle{background:#dcfae6;color:#067647} .disconnected{background:#fef0c7;color:#93370d}
        .unowned{background:#fee4e2;color:#b42318} .err{color:#b42318;font-size:.9em;max-width:30em}
        .banner{background:#fee4e2;border:1px solid #fda29b;padding:.6em 1em;border-radius:6px;margin:0 0 1em}
        footer{color:#5b6670;margin-top:1em;font-size:.9em}
        </style></head><body>
        <h1>pgamqp operations</h1>
        """.formatted(REFRESH.toSeconds()));
    StatusView.Reading reading = view.reading();
    Instant now = reading != null ? reading.now() : Instant.now();
    out.append("<p class=\"sub\">database ").append(escape(view.database())).append(" &middot; ")
        .append(CLOCK.format(now)).append(" &middot; this page reloads every ").append(REFRESH.toSeconds())
        .append(" s</p>\n");
    if (reading == null) {
      out.append("<p class=\"banner\" id=\"error\">amqp.status could not be read: ")
          .append(escape(truncate(view.readingError()))).append("</p>\n");
    }
    Map<Integer, BrokerStatus> here = new HashMap<>();
    if (view.local() != null) {
      view.local().brokers().forEach(b -> here.put(b.brokerId(), b));
    }
    if (reading != null) {
      tiles(out, reading);
      table(out, reading, here, view.rate());
    }
    out.append("<footer>This node: ");
    if (view.local() == null) {
      out.append("no answer from its supervisors");
    } else {
      out.append(here.size()).append(" supervisor(s), ")
          .append(view.local().brokers().stream().filter(BrokerStatus::owned).count()).append(" owned")
          .append(view.local().clusterMember() == null ? "" : ", cluster member " + escape(view.local().clusterMember()))
          .append(view.local().databaseReachable() ? "" : ", database unreachable");
    }
    out.append(". Rate: messages this node confirmed per second over the last minute. Also: "
        + "<a href=\"/health/ready\">/health/ready</a>, <a href=\"/metrics\">/metrics</a>.</footer>\n");
    return out.append("</body></html>\n").toString();
  }

  private static void tiles(StringBuilder out, StatusView.Reading reading) {
    long backlog = 0;
    long dead = 0;
    long unowned = 0;
    Duration oldest = null;
    for (StatusView.Row r : reading.rows()) {
      backlog += r.backlog();
      dead += r.deadLetters();
      unowned += r.owner() == null ? 1 : 0;
      if (r.oldestPendingAge() != null && (oldest == null || r.oldestPendingAge().compareTo(oldest) > 0)) {
        oldest = r.oldestPendingAge();
      }
    }
    out.append("<div class=\"tiles\">");
    tile(out, "brokers", Integer.toString(reading.rows().size()), false);
    tile(out, "backlog", number(backlog), false);
    tile(out, "oldest pending", oldest == null ? "-" : StatusView.human(oldest), false);
    tile(out, "dead letters", number(dead), dead > 0);
    tile(out, "not owned", Long.toString(unowned), unowned > 0);
    out.append("</div>\n");
  }

  private static void tile(StringBuilder out, String name, String value, boolean bad) {
    out.append("<div class=\"tile").append(bad ? " bad" : "").append("\" data-total=\"").append(name).append("\"><b>")
        .append(value).append("</b>").append(name).append("</div>");
  }

  private static void table(StringBuilder out, StatusView.Reading reading, Map<Integer, BrokerStatus> here,
      IntToDoubleFunction rate) {
    if (reading.rows().isEmpty()) {
      out.append("<p id=\"empty\">No brokers in amqp.broker yet.</p>\n");
      return;
    }
    out.append("<table><thead><tr><th>broker</th><th>state</th><th>owner</th><th>connected to</th>"
        + "<th>this node</th><th>backlog</th><th>oldest pending</th><th>rate (msg/s)</th><th>dead letters</th>"
        + "<th>last confirm</th><th>addresses</th><th>last error</th></tr></thead><tbody>\n");
    for (StatusView.Row r : reading.rows()) {
      String state = StatusView.state(r);
      BrokerStatus mine = here.get(r.brokerId());
      out.append("<tr data-broker=\"").append(r.brokerId()).append("\">");
      cell(out, "broker", Integer.toString(r.brokerId()), true);
      out.append("<td data-field=\"state\"><span class=\"s ").append(state).append("\">").append(state)
          .append("</span></td>");
      cell(out, "owner", dash(r.owner()), false);
      cell(out, "connected_to", dash(r.connectedTo()), false);
      cell(out, "this_node", mine == null ? "-" : mine.phase().text() + (mine.owned() ? " (owner)" : ""), false);
      cell(out, "backlog", number(r.backlog()) + (r.backlogCapped() ? "+" : ""), true);
      cell(out, "oldest_pending", r.oldestPendingAge() == null ? "-" : StatusView.human(r.oldestPendingAge()), true);
      cell(out, "rate", String.format(Locale.ROOT, "%,.1f", rate.applyAsDouble(r.brokerId())), true);
      cell(out, "dead_letters", number(r.deadLetters()) + (r.deadLettersCapped() ? "+" : ""), true);
      cell(out, "last_confirm", r.lastConfirmAt() == null ? "never"
          : StatusView.human(Duration.between(r.lastConfirmAt(), reading.now())) + " ago", true);
      cell(out, "addresses", dash(r.addresses()), false);
      out.append("<td data-field=\"last_error\" class=\"err\">")
          .append(r.lastError() == null ? "" : escape(truncate(r.lastError().replaceAll("\\s*\\R\\s*", " "))))
          .append("</td></tr>\n");
    }
    out.append("</tbody></table>\n");
  }

  private static void cell(StringBuilder out, String field, String text, boolean numeric) {
    out.append("<td data-field=\"").append(field).append('"').append(numeric ? " class=\"n\"" : "").append('>')
        .append(escape(text)).append("</td>");
  }

  private static String number(long n) {
    return String.format(Locale.ROOT, "%,d", n);
  }

  private static String dash(String s) {
    return s == null || s.isEmpty() ? "-" : s;
  }

  private static String truncate(String s) {
    return s == null || s.length() <= MAX_ERROR_CHARS ? s : s.substring(0, MAX_ERROR_CHARS) + "...";
  }

  /** HTML text and attribute escaping. */
  static String escape(String s) {
    if (s == null) {
      return "";
    }
    StringBuilder out = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> out.append("&amp;");
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '"' -> out.append("&quot;");
        case '\'' -> out.append("&#39;");
        default -> out.append(c < 0x20 && c != '\t' ? ' ' : c);
      }
    }
    return out.toString();
  }
}
