package io.pgamqp.readme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How README blocks are read and run, on small READMEs of its own (no servers): a broken snippet fails the run. */
class ReadmeScriptTest {
  @Test
  void readsModesFromTheLineAboveEachBlock() {
    List<ReadmeScript.Block> blocks = ReadmeScript.parse(List.of(
        "Run it:", "", "```sh", "echo one", "```",
        "*Not run by the README test: needs a Kubernetes cluster.*", "```sh", "kubectl apply -f x", "```",
        "<!-- readme-test: start \"ready\" -->", "```sh", "serve", "```",
        "<!-- readme-test: start \"ready:\", expect success -->", "```bash", "consume", "```",
        "```yaml", "a: 1", "```",
        "```sql", "select 1;", "```"));
    assertEquals(List.of(ReadmeScript.Mode.RUN, ReadmeScript.Mode.SKIP, ReadmeScript.Mode.START,
        ReadmeScript.Mode.START_EXPECT_SUCCESS, ReadmeScript.Mode.RUN),
        blocks.stream().map(ReadmeScript.Block::mode).toList());
    assertEquals(List.of(3, 7, 11, 15, 21), blocks.stream().map(ReadmeScript.Block::line).toList());
    assertEquals("ready:", blocks.get(3).readyText());
    assertEquals("sh", blocks.get(3).lang());
    assertEquals("select 1;\n", blocks.get(4).text());
  }

  @Test
  void aReadmeThatRunsPasses() throws Exception {
    ReadmeRun run = run(List.of("```sh", "export GREETING=hello", "```",
        "<!-- readme-test: start \"listening\", expect success -->", "```sh", "echo listening; sleep 0.3; exit 0",
        "```", "```sh", "test \"$GREETING\" = hello", "```"));
    assertEquals(0, run.exit(), run.output());
    assertTrue(run.output().contains("README TEST PASSED"), run.output());
  }

  @Test
  void aFailingCommandFailsTheRunNamingItsLine() throws Exception {
    ReadmeRun run = run(List.of("```sh", "true", "```", "", "```sh", "echo before", "false", "echo after", "```"));
    assertNotEquals(0, run.exit());
    assertTrue(run.output().contains("README TEST FAILED at README.md:5"), run.output());
    assertTrue(!run.output().contains("after"), run.output());
  }

  @Test
  void aMessageThatNeverArrivesFailsTheRun() throws Exception {
    // A consumer that gives up (as `pgamqp consume --count 1` does when nothing arrives) must fail the run.
    ReadmeRun run = run(List.of("<!-- readme-test: start \"ready:\", expect success -->", "```sh",
        "echo ready:; sleep 0.2; echo 'no message' >&2; exit 1", "```"));
    assertNotEquals(0, run.exit());
    assertTrue(run.output().contains("README TEST FAILED at README.md:2: it exited 1"), run.output());
  }

  @Test
  void aServiceThatNeverGetsReadyFailsTheRun() throws Exception {
    ReadmeRun run = run(List.of("<!-- readme-test: start \"connected\" -->", "```sh", "echo starting; sleep 30",
        "```"));
    assertNotEquals(0, run.exit());
    assertTrue(run.output().contains("its output never showed 'connected'"), run.output());
  }

  private static ReadmeRun run(List<String> readme) throws Exception {
    Path dir = Files.createTempDirectory("pgamqp-readme-unit");
    Path script = dir.resolve("readme.sh");
    Files.writeString(script, ReadmeScript.script(ReadmeScript.parse(readme), "README.md", dir.toString(), "unused",
        dir.toString(), 2, ""));
    return ReadmeRun.bash(script, dir, 1);
  }
}
