package io.pgamqp.readme;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * README.md's {@code sh} and {@code sql} blocks as one bash script, in the README's order, so that what one block sets
 * up (a database, an exported variable, a running bridge) is there for the next, as for a reader who pastes them
 * into one terminal. What the line just above a block says decides how it runs:
 * <ul>
 *   <li>{@code *Not run by the README test: REASON.*} (visible to readers): skipped;
 *   <li>{@code <!-- readme-test: start "TEXT" -->}: started in the background, as in a terminal of its own; the script
 *       goes on once its output shows TEXT, and stops it at the end;
 *   <li>{@code <!-- readme-test: start "TEXT", expect success -->}: the same, and at the end it must have exited 0
 *       (e.g. a consumer that exits after the message the README says arrives);
 *   <li>otherwise it runs in the foreground and must succeed; {@code sql} blocks through psql on the README's
 *       database.
 * </ul>
 */
final class ReadmeScript {
  enum Mode { RUN, SKIP, START, START_EXPECT_SUCCESS }

  /** One fenced block; {@code line}: its first line's number in the README (1-based). */
  record Block(int line, String lang, String text, Mode mode, String readyText) {}

  private static final Pattern FENCE = Pattern.compile("^\\s*```(\\w+)\\s*$");
  private static final Pattern SKIP = Pattern.compile("^[*_]Not run by the README test: .+[*_]$");
  private static final Pattern START =
      Pattern.compile("^<!-- readme-test: start \"([^\"]+)\"(, expect success)? -->$");

  private ReadmeScript() {}

  static List<Block> parse(List<String> lines) {
    List<Block> blocks = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      Matcher fence = FENCE.matcher(lines.get(i));
      if (!fence.matches()) {
        continue;
      }
      String lang = fence.group(1);
      int start = i;
      StringBuilder text = new StringBuilder();
      String indent = lines.get(i).substring(0, lines.get(i).indexOf('`'));
      for (i++; i < lines.size() && !lines.get(i).strip().startsWith("```"); i++) {
        // A block inside a list item is indented: its commands are not.
        String line = lines.get(i);
        text.append(line.startsWith(indent) ? line.substring(indent.length()) : line).append('\n');
      }
      if (!List.of("sh", "bash", "sql").contains(lang)) {
        continue;
      }
      String above = "";
      for (int j = start - 1; j >= 0; j--) {
        if (!lines.get(j).isBlank()) {
          above = lines.get(j).strip();
          break;
        }
      }
      Mode mode = Mode.RUN;
      String ready = null;
      Matcher m = START.matcher(above);
      if (SKIP.matcher(above).matches()) {
        mode = Mode.SKIP;
      } else if (m.matches()) {
        mode = m.group(2) == null ? Mode.START : Mode.START_EXPECT_SUCCESS;
        ready = m.group(1);
      }
      blocks.add(new Block(start + 1, lang.equals("bash") ? "sh" : lang, text.toString(), mode, ready));
    }
    return blocks;
  }

  /**
   * The bash script: runs in {@code repoRoot}, {@code sql} blocks go to {@code database} through psql, background
   * output goes to {@code logDir}. Fails (exit non-zero, saying which README line) at the first block that fails, when
   * a started block does not show its text within {@code readySeconds}, or when one that must succeed did not.
   * {@code finalCheck} (bash) runs after the last block, while started blocks still run.
   */
  static String script(List<Block> blocks, String readme, String repoRoot, String database, String logDir,
      int readySeconds, String finalCheck) {
    StringBuilder s = new StringBuilder();
    s.append("set -euo pipefail\n")
        .append("cd ").append(quote(repoRoot)).append('\n')
        .append("started=(); expected=(); expected_at=(); current=0\n")
        .append("finish() { for p in \"${started[@]}\"; do kill \"$p\" 2>/dev/null || true; done;"
            + " wait 2>/dev/null || true; }\n")
        .append("trap finish EXIT\n")
        .append("fail() { echo \"README TEST FAILED at ").append(readme).append(":$1: $2\" >&2; exit 1; }\n")
        // set -e ends the script at the first failing command; this says where in the README it was.
        .append("trap 'echo \"README TEST FAILED at ").append(readme)
        .append(":$current: a command exited $?\" >&2' ERR\n")
        .append("await_text() { # log, text, line\n")
        .append("  for _ in $(seq 1 ").append(readySeconds * 10).append("); do\n")
        .append("    if grep -qF -- \"$2\" \"$1\"; then return 0; fi\n")
        .append("    sleep 0.1\n")
        .append("  done\n")
        .append("  cat \"$1\" >&2; fail \"$3\" \"its output never showed '$2'\"\n")
        .append("}\n");
    for (Block b : blocks) {
      if (b.mode() == Mode.SKIP) {
        continue;
      }
      String body = b.lang().equals("sql")
          ? "psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d " + database + " <<'PGAMQP_README_SQL'\n"
              + b.text() + "PGAMQP_README_SQL\n"
          : b.text();
      s.append("current=").append(b.line()).append("; echo '--- ").append(readme).append(':').append(b.line())
          .append(" (").append(b.mode()).append(")'\n");
      switch (b.mode()) {
        case RUN -> s.append(body);
        case START, START_EXPECT_SUCCESS -> {
          String log = logDir + "/block-" + b.line() + ".log";
          s.append("(\n").append(body).append(") > ").append(quote(log)).append(" 2>&1 &\n")
              .append("started+=($!)\n");
          if (b.mode() == Mode.START_EXPECT_SUCCESS) {
            s.append("expected+=($!); expected_at+=(").append(b.line()).append(")\n");
          }
          s.append("await_text ").append(quote(log)).append(' ').append(quote(b.readyText())).append(' ')
              .append(b.line()).append('\n');
        }
        case SKIP -> { }
      }
    }
    s.append("current=end; echo '--- after the last block'\n").append(finalCheck);
    s.append("for i in \"${!expected[@]}\"; do\n")
        .append("  current=${expected_at[$i]}\n")
        .append("  for _ in $(seq 1 ").append(readySeconds * 10).append("); do\n")
        .append("    kill -0 \"${expected[$i]}\" 2>/dev/null || break; sleep 0.1\n")
        .append("  done\n")
        .append("  if kill -0 \"${expected[$i]}\" 2>/dev/null; then\n")
        .append("    cat ").append(quote(logDir)).append("/block-$current.log >&2\n")
        .append("    fail \"$current\" \"it did not finish within ").append(readySeconds).append(" s\"\n")
        .append("  fi\n")
        .append("  code=0; wait \"${expected[$i]}\" || code=$?\n")
        .append("  if [ \"$code\" != 0 ]; then cat ").append(quote(logDir))
        .append("/block-$current.log >&2; fail \"$current\" \"it exited $code\"; fi\n")
        .append("done\n")
        .append("echo 'README TEST PASSED'\n");
    return s.toString();
  }

  private static String quote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }
}
