package io.pgamqp.readme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * README.md runs: every {@code sh} and {@code sql} block not marked otherwise, in order, against the machine's
 * PostgreSQL (database {@value #DATABASE}, the README's own name, dropped first) and RabbitMQ, with the jars this build
 * made. It fails on a block that fails, a message the README says arrives but does not, and on any dead letter the
 * snippets leave (a README example that publishes into nothing).
 */
class ReadmeSnippetsTest {
  static final String DATABASE = "pgamqp_quickstart";
  private static final Pattern CONSUMED_QUEUE = Pattern.compile("pgamqp\\.jar consume (\\S+)");
  // Declared by the README's SQL (the bridge re-applies them, so they outlive the run unless deleted).
  private static final Pattern DECLARED_QUEUE = Pattern.compile("amqp\\.queue_declare\\(1, '([^']+)'");
  private static final Pattern DECLARED_EXCHANGE = Pattern.compile("amqp\\.exchange_declare\\(1, '([^']+)'");

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void everySnippetRunsAndDeliversWhatItSays() throws Exception {
    Path root = Path.of(System.getenv().getOrDefault("PGAMQP_REPO_ROOT", "../..")).toAbsolutePath().normalize();
    List<String> readme = Files.readAllLines(root.resolve("README.md"));
    assertTrue(readme.stream().anyMatch(l -> l.contains("createdb -h 127.0.0.1 -U postgres " + DATABASE)),
        "the README creates database " + DATABASE);
    List<ReadmeScript.Block> blocks = ReadmeScript.parse(readme);
    Set<String> queues = new TreeSet<>();
    Set<String> exchanges = new TreeSet<>();
    for (ReadmeScript.Block b : blocks) {
      for (Pattern p : List.of(CONSUMED_QUEUE, DECLARED_QUEUE)) {
        Matcher m = p.matcher(b.text());
        while (m.find()) {
          queues.add(m.group(1));
        }
      }
      Matcher m = DECLARED_EXCHANGE.matcher(b.text());
      while (m.find()) {
        exchanges.add(m.group(1));
      }
    }
    clean(queues, exchanges);
    try {
      Path logs = Files.createTempDirectory("pgamqp-readme");
      // While the README's bridge still runs: everything it was given is delivered, nothing dead-lettered.
      String finalCheck = """
          q() { psql -X -qtA -h 127.0.0.1 -U postgres -d %1$s -c "$1"; }
          for _ in $(seq 1 300); do [ "$(q 'select count(*) from amqp.outbox')" = 0 ] && break; sleep 0.1; done
          [ "$(q 'select count(*) from amqp.outbox')" = 0 ] || fail end "messages still in amqp.outbox after 30 s"
          dead=$(q "select string_agg(exchange || ' ' || routing_key || ': ' || reason, '; ') from amqp.dead_letter")
          [ -z "$dead" ] || fail end "the snippets left dead letters: $dead"
          """.formatted(DATABASE);
      String script = ReadmeScript.script(blocks, "README.md", root.toString(), DATABASE, logs.toString(), 60,
          finalCheck);
      Path file = logs.resolve("readme.sh");
      Files.writeString(file, script);
      ReadmeRun run = ReadmeRun.bash(file, root, 8);
      System.out.println(run.output());
      assertEquals(0, run.exit(), "README.md did not run (script " + file + "):\n" + run.output());
      assertTrue(run.output().contains("README TEST PASSED"), run.output());
      System.out.printf("README test: %d blocks run, %d not run (marked), %.1f s%n",
          blocks.stream().filter(b -> b.mode() != ReadmeScript.Mode.SKIP).count(),
          blocks.stream().filter(b -> b.mode() == ReadmeScript.Mode.SKIP).count(), run.seconds());
    } finally {
      clean(queues, exchanges);
    }
  }

  /**
   * Drops the README's database and deletes its queues and exchanges: each run starts from nothing, and leaves
   * nothing.
   */
  private static void clean(Set<String> queues, Set<String> exchanges) throws Exception {
    try (java.sql.Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:5432/postgres", "postgres",
        ""); Statement st = c.createStatement()) {
      st.execute("drop database if exists " + DATABASE + " with (force)");
    }
    ConnectionFactory cf = new ConnectionFactory();
    cf.setHost("127.0.0.1");
    try (Connection c = cf.newConnection("pgamqp readme test")) {
      List<String> deleted = new ArrayList<>();
      for (String q : queues) {
        try (Channel ch = c.createChannel()) {
          ch.queueDelete(q);
          deleted.add(q);
        }
      }
      for (String x : exchanges) {
        try (Channel ch = c.createChannel()) {
          ch.exchangeDelete(x);
        }
      }
    }
  }
}
