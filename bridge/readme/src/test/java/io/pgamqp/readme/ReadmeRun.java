package io.pgamqp.readme;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** One run of a generated script: its exit code (-1: timed out) and everything it printed. */
record ReadmeRun(int exit, String output, double seconds) {
  static ReadmeRun bash(Path script, Path workDir, int timeoutMinutes) throws IOException, InterruptedException {
    long t0 = System.nanoTime();
    Path out = Files.createTempFile("pgamqp-readme-run", ".log");
    Process p = new ProcessBuilder("bash", script.toString()).directory(workDir.toFile()).redirectErrorStream(true)
        .redirectOutput(out.toFile()).start();
    int exit;
    if (p.waitFor(timeoutMinutes, TimeUnit.MINUTES)) {
      exit = p.exitValue();
    } else {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      exit = -1;
    }
    String text = Files.readString(out) + (exit == -1 ? "\n(timed out after " + timeoutMinutes + " min)" : "");
    return new ReadmeRun(exit, text, (System.nanoTime() - t0) / 1e9);
  }
}
