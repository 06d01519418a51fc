package io.pgamqp.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;

/**
 * Debian's {@code chromium}, headless, for tests of what a browser shows. Each call is a fresh browser with a fresh
 * profile, no network beyond the page asked for (background networking, sync, component updates off). .ci/run
 * installs it; off CI a test without it is skipped, on CI it fails.
 */
public final class HeadlessChromium {
  private static final Path BINARY = Path.of("/usr/bin/chromium");
  private static final Duration WAIT = Duration.ofSeconds(90);

  private HeadlessChromium() {}

  /** Skips the test off CI when chromium is missing; on CI, fails it. */
  public static void assumeInstalled() {
    if (!Files.isExecutable(BINARY)) {
      if ("true".equals(System.getenv("CI"))) {
        throw new IllegalStateException(BINARY + " is missing: .ci/run must apt-get install chromium");
      }
      Assumptions.abort(BINARY + " is not installed (apt-get install chromium)");
    }
  }

  /** The DOM of {@code url} after it loaded, serialised ({@code --dump-dom}). */
  public static String dumpDom(String url) throws IOException, InterruptedException {
    CommandRun run = chromium(List.of("--dump-dom", url));
    if (run.exitCode() != 0 || !run.output().contains("</html>")) {
      throw new AssertionError("chromium --dump-dom " + url + " exited " + run.exitCode() + ":\n" + run.output());
    }
    return run.output();
  }

  /** A PNG screenshot of {@code url} at {@code width} x {@code height} pixels into {@code file}. */
  public static void screenshot(String url, Path file, int width, int height) throws IOException, InterruptedException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.deleteIfExists(file);
    CommandRun run = chromium(List.of("--hide-scrollbars", "--window-size=" + width + "," + height,
        "--screenshot=" + file.toAbsolutePath(), url));
    if (run.exitCode() != 0 || !Files.isRegularFile(file)) {
      throw new AssertionError("chromium --screenshot " + url + " exited " + run.exitCode() + ":\n" + run.output());
    }
  }

  private static CommandRun chromium(List<String> args) throws IOException, InterruptedException {
    Path profile = Files.createTempDirectory("pgamqp-chromium-");
    try {
      List<String> command = new ArrayList<>(List.of(BINARY.toString(), "--headless", "--no-sandbox",
          "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run",
          "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
          "--user-data-dir=" + profile));
      command.addAll(args);
      // stderr is chromium's chatter (dbus, GPU): keep only stdout, where --dump-dom writes the DOM.
      return CommandRun.run(List.of("/bin/sh", "-c", quoted(command) + " 2>/dev/null"), profile, Map.of(), WAIT);
    } finally {
      deleteTree(profile);
    }
  }

  private static String quoted(List<String> words) {
    StringBuilder out = new StringBuilder();
    for (String w : words) {
      out.append(out.isEmpty() ? "" : " ").append('\'').append(w.replace("'", "'\\''")).append('\'');
    }
    return out.toString();
  }

  private static void deleteTree(Path root) throws IOException {
    try (var paths = Files.walk(root)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
