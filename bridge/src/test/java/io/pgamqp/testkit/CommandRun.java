package io.pgamqp.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A command run to its end as users run it: a separate process, in a given working directory, with no
 * {@code PGAMQP_*} environment but what the caller passes. Standard output and error together.
 *
 * @param exitCode the process's exit code
 * @param output standard output and error, interleaved
 */
public record CommandRun(int exitCode, String output) {

  /** {@code io.pgamqp.cli.Main args} in a fresh JVM on this test's class path. */
  public static CommandRun main(Path workingDirectory, Map<String, String> environment, Duration wait, String... args)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
        "-cp", System.getProperty("java.class.path"), "io.pgamqp.cli.Main"));
    command.addAll(List.of(args));
    return run(command, workingDirectory, environment, wait);
  }

  /** Runs {@code command}; fails (killing it) if it outlives {@code wait}. */
  public static CommandRun run(List<String> command, Path workingDirectory, Map<String, String> environment,
      Duration wait) throws IOException, InterruptedException {
    Path output = Files.createTempFile("pgamqp-command-", ".txt");
    try {
      ProcessBuilder builder = new ProcessBuilder(command)
          .directory(workingDirectory.toFile())
          .redirectErrorStream(true)
          .redirectOutput(output.toFile());
      builder.environment().keySet().removeIf(name -> name.startsWith("PGAMQP_"));
      builder.environment().putAll(environment);
      Process process = builder.start();
      if (!process.waitFor(wait.toMillis(), TimeUnit.MILLISECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        throw new AssertionError("'" + String.join(" ", command) + "' did not exit within " + wait.toSeconds()
            + " s; output:\n" + Files.readString(output));
      }
      return new CommandRun(process.exitValue(), Files.readString(output));
    } finally {
      Files.deleteIfExists(output);
    }
  }
}
