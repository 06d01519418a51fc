package io.pgamqp.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo as users run it: {@link DemoCommand} in a separate JVM (so {@code System.exit} and JVM shutdown are part
 * of what is tested), in an empty working directory, with no {@code PGAMQP_*} environment. It needs no external
 * server: it embeds PostgreSQL and Qpid Broker-J (as root too).
 */
class DemoCommandTest {

  private static final Duration DEMO_TIMEOUT = Duration.ofMinutes(3);

  @TempDir
  Path temp;

  @Test
  void demoDeliversTheCommittedAndTheAutonomousMessagesAndExitsZero() throws Exception {
    // The child's java.io.tmpdir, to check that it leaves nothing of its own behind. Searchable by all: as root,
    // embedded PostgreSQL runs as nobody from a directory in it.
    Path childTemp = Files.createDirectory(temp.resolve("tmp"));
    Files.setPosixFilePermissions(childTemp, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rwxr-xr-x"));

    Run run = runDemo(List.of("-Djava.io.tmpdir=" + childTemp));

    assertEquals(0, run.exitCode(), run.output());
    assertTrue(run.output().contains("committed batch:                       5 published, 5 arrived"), run.output());
    assertTrue(run.output().contains(
        "rolled-back publish:                   1 published, did not arrive (right: its transaction rolled back)"),
        run.output());
    assertTrue(run.output().contains(
        "autonomous publish in a rolled-back tx: 1 published, arrived (right: autonomous)"), run.output());
    assertTrue(run.output().contains("demo OK: 6 messages arrived, as expected"), run.output());
    assertEquals(List.of(), list(run.workingDirectory()), "files left in the working directory");
    // Our work directories (pgamqp-pg-*, pgamqp-qpid-*) are removed; zonky's binaries cache (embedded-pg/, used
    // when not root) stays by design.
    assertEquals(List.of(), list(childTemp).stream().filter(name -> name.startsWith("pgamqp-")).toList(),
        "work directories left in java.io.tmpdir");
    System.out.printf("demo JVM ran %d ms%n", run.millis());
  }

  private record Run(int exitCode, String output, Path workingDirectory, long millis) {
  }

  /** Runs the demo in a fresh JVM in an empty working directory; fails the test if it outlives the wait. */
  private Run runDemo(List<String> jvmOptions) throws IOException, InterruptedException {
    Path workingDirectory = Files.createDirectory(temp.resolve("cwd"));
    Path output = temp.resolve("output.txt");
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx512m");
    command.addAll(jvmOptions);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(DemoCommand.class.getName());
    ProcessBuilder builder = new ProcessBuilder(command)
        .directory(workingDirectory.toFile())
        .redirectErrorStream(true)
        .redirectOutput(output.toFile());
    builder.environment().keySet().removeIf(name -> name.startsWith("PGAMQP_"));
    long start = System.nanoTime();
    Process process = builder.start();
    if (!process.waitFor(DEMO_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
      // SIGTERM first: the JVM's shutdown hooks stop the embedded servers, which a SIGKILL would leave running.
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
      }
      throw new AssertionError("the demo did not exit within " + DEMO_TIMEOUT.toSeconds()
          + " s; output:\n" + Files.readString(output));
    }
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    return new Run(process.exitValue(), Files.readString(output), workingDirectory, millis);
  }

  private static List<String> list(Path directory) throws IOException {
    try (Stream<Path> entries = Files.list(directory)) {
      return entries.map(path -> path.getFileName().toString()).sorted().toList();
    }
  }
}
