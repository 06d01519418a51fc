package io.pgamqp.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.testkit.CommandRun;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line as users run it: {@link Main} in a separate JVM (so {@code System.exit} is part of what is
 * tested), in an empty working directory, with no {@code PGAMQP_*} environment. No server needed.
 */
class CommandLineTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir
  Path cwd;

  @Test
  void unknownCommandExitsTwoWithUsage() throws Exception {
    CommandRun run = CommandRun.main(cwd, Map.of(), WAIT, "frobnicate");

    assertEquals(2, run.exitCode(), run.output());
    assertTrue(run.output().contains("pgamqp: unknown command 'frobnicate'"), run.output());
    assertTrue(run.output().contains("usage: pgamqp <command>"), run.output());
  }

  @Test
  void versionAndEachCommandsHelpExitZero() throws Exception {
    CommandRun version = CommandRun.main(cwd, Map.of(), WAIT, "--version");
    assertEquals(0, version.exitCode(), version.output());
    assertTrue(version.output().matches("pgamqp \\S+ \\(commit ([0-9a-f]{12}(-dirty)?|unknown)\\)\\s*"),
        version.output());
    for (String command : new String[] {"install", "run", "status"}) {
      CommandRun help = CommandRun.main(cwd, Map.of(), WAIT, command, "--help");
      assertEquals(0, help.exitCode(), help.output());
      assertTrue(help.output().startsWith("usage: pgamqp " + command), help.output());
    }
  }

  @Test
  void demoSaysWhereTheDemoJarIs() throws Exception {
    CommandRun run = CommandRun.main(cwd, Map.of(), WAIT, "demo");

    assertEquals(2, run.exitCode(), run.output());
    assertTrue(run.output().contains("java -jar bridge/demo/target/pgamqp-demo.jar"), run.output());
  }

  @Test
  void installWithANonPostgresUrlExitsTwoNamingTheSetting() throws Exception {
    CommandRun run = CommandRun.main(cwd, Map.of("PGAMQP_DB_URL", "mysql://x"), WAIT, "install");

    assertEquals(2, run.exitCode(), run.output());
    assertTrue(run.output().contains("pgamqp.db.url"), run.output());
    assertTrue(run.output().contains("mysql://x"), run.output());
  }
}
