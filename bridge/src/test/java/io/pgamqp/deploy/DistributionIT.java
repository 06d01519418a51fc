package io.pgamqp.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.rabbitmq.client.Delivery;
import io.pgamqp.testkit.AmqpTestClient;
import io.pgamqp.testkit.CommandRun;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.FreePort;
import io.pgamqp.testkit.Route;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The distribution as an operator uses it: {@code pgamqp-<version>.tar.gz} unpacked with tar into a temporary
 * folder, {@code bin/pgamqp} run from another working directory, reading {@code config/} beside {@code bin/}.
 */
class DistributionIT {
  /**
   * A guard against the service jar growing unnoticed: what run, install and status need, no database or broker
   * inside. Issue 15 asked for 40 MB: 41.9 MB with Akka HTTP 10.2 serving the operations endpoint (akka-http-core,
   * akka-parsing: 5.3 MB), 36.5 MB since the JDK's own HTTP server does. Raise this only with a reason in the README.
   */
  private static final long MAX_JAR_BYTES = 40_000_000;
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir
  static Path temp;
  private static Path home;
  private static Path elsewhere;

  @BeforeAll
  static void unpack() throws Exception {
    home = Distribution.unpack(Files.createDirectory(temp.resolve("opt")));
    elsewhere = Files.createDirectory(temp.resolve("cwd"));
  }

  @Test
  void holdsTheLauncherTheLeanServiceJarConfigSqlReadmeAndLicense() throws Exception {
    assertTrue(Files.isExecutable(home.resolve("bin/pgamqp")), "bin/pgamqp executable");
    for (String file : List.of("config/application.conf", "config/cluster.conf", "config/logback.xml",
        "config/docker/Dockerfile", "config/kubernetes/pgamqp.yaml", "config/systemd/pgamqp.service",
        "config/grafana/pgamqp.json", "config/prometheus/pgamqp-alerts.yaml", "sql/install.sql", "README.md",
        "LICENSE")) {
      assertTrue(Files.isRegularFile(home.resolve(file)), file);
    }
    String license = Files.readString(home.resolve("LICENSE"));
    assertTrue(license.contains("Apache License") && license.contains("Version 2.0, January 2004"), "Apache-2.0");
    long jarBytes = Files.size(home.resolve("lib/pgamqp.jar"));
    System.out.printf("service jar lib/pgamqp.jar: %,d bytes (%.1f MB)%n", jarBytes, jarBytes / 1e6);
    assertTrue(jarBytes <= MAX_JAR_BYTES, "service jar is " + jarBytes + " bytes, more than " + MAX_JAR_BYTES);
    try (var jar = new java.util.jar.JarFile(home.resolve("lib/pgamqp.jar").toFile())) {
      assertEquals(List.of(), jar.stream().map(e -> e.getName())
          .filter(n -> n.startsWith("io/zonky/") || n.startsWith("org/apache/qpid/") || n.endsWith(".txz")
              || n.startsWith("io/pgamqp/embedded/"))
          .limit(5).toList(), "embedded servers in the service jar");
    }
  }

  @Test
  void versionNamesTheBuildAndItsCommit() throws Exception {
    CommandRun run = pgamqp(Map.of(), "--version");

    assertEquals(0, run.exitCode(), run.output());
    assertTrue(run.output().matches("pgamqp " + java.util.regex.Pattern.quote(Distribution.version())
        + " \\(commit [0-9a-f]{12}(-dirty)?\\)\\s*"), run.output());
  }

  @Test
  void helpForEachCommandExitsZero() throws Exception {
    for (String command : List.of("install", "run", "status")) {
      CommandRun run = pgamqp(Map.of(), command, "--help");
      assertEquals(0, run.exitCode(), run.output());
      assertTrue(run.output().startsWith("usage: pgamqp " + command), run.output());
    }
    CommandRun run = pgamqp(Map.of(), "--help");
    assertEquals(0, run.exitCode(), run.output());
    assertTrue(run.output().contains("install") && run.output().contains("--version"), run.output());
  }

  @Test
  void findsJavaThroughJavaHomeAndSaysSoWhenThereIsNone() throws Exception {
    String javaHome = System.getProperty("java.home");
    CommandRun viaJavaHome = pgamqp(Map.of("PATH", "/nonexistent", "JAVA_HOME", javaHome), "--version");
    assertEquals(0, viaJavaHome.exitCode(), viaJavaHome.output());

    CommandRun none = CommandRun.run(List.of("/bin/sh", "-c", "unset JAVA_HOME; PATH=/nonexistent; export PATH; "
        + "exec '" + home.resolve("bin/pgamqp") + "' --version"), elsewhere, Map.of(), WAIT);
    assertEquals(2, none.exitCode(), none.output());
    assertTrue(none.output().contains("pgamqp: no Java found"), none.output());

    CommandRun badJavaHome = pgamqp(Map.of("JAVA_HOME", temp.toString()), "--version");
    assertEquals(2, badJavaHome.exitCode(), badJavaHome.output());
    assertTrue(badJavaHome.output().contains("JAVA_HOME is " + temp), badJavaHome.output());
  }

  /**
   * install, status and run against a fresh test database, configured only in the unpacked config/application.conf;
   * JAVA_OPTS reaches the JVM and overrides it. run delivers a message published through SQL and stops on SIGTERM.
   */
  @Test
  void installStatusAndRunAgainstTheTestDatabase() throws Exception {
    TestServers servers = TestServers.get();
    try (TestDatabase db = servers.createEmptyDatabase("dist");
        AmqpTestClient amqp = new AmqpTestClient()) {
      configure(db, servers);

      CommandRun install = pgamqp(Map.of(), "install");
      assertEquals(0, install.exitCode(), install.output());
      assertTrue(install.output().contains("created view amqp.status"), install.output());

      CommandRun status = pgamqp(Map.of(), "status");
      assertEquals(0, status.exitCode(), status.output());
      assertTrue(status.output().contains("pgamqp status of " + db.jdbcUrl()), status.output());
      assertTrue(status.output().contains("no brokers in amqp.broker"), status.output());

      CommandRun elsewhereDb = pgamqp(Map.of("JAVA_OPTS", "-Xmx128m -Dpgamqp.db.url=jdbc:postgresql://127.0.0.1:1/nowhere"),
          "status");
      assertEquals(1, elsewhereDb.exitCode(), elsewhereDb.output());
      assertTrue(elsewhereDb.output().contains("127.0.0.1:1/nowhere"), elsewhereDb.output());

      Route route = Route.declare(amqp, "dist");
      int broker = db.insertBroker();
      db.exec("select amqp.publish(?, ?, ?, 'from the distribution')", broker, route.exchange(), route.routingKey());

      int port = FreePort.pick();
      Path log = temp.resolve("run.log");
      ProcessBuilder builder = new ProcessBuilder(home.resolve("bin/pgamqp").toString(), "run")
          .directory(elsewhere.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
      builder.environment().keySet().removeIf(name -> name.startsWith("PGAMQP_"));
      builder.environment().put("PGAMQP_HTTP_PORT", Integer.toString(port));
      builder.environment().put("JAVA_OPTS", "-Xmx256m");
      Process run = builder.start();
      try {
        List<Delivery> arrived = amqp.drain(route.queue(), 1, Duration.ofSeconds(60));
        assertEquals(1, arrived.size(), () -> "delivered; log:\n" + read(log));
        assertEquals("from the distribution", new String(arrived.get(0).getBody(), StandardCharsets.UTF_8));
        HttpClient http = HttpClient.newHttpClient();
        Eventually.until("bridge deleted the confirmed row", WAIT,
            () -> db.queryLong("select count(*) from amqp.outbox") == 0);
        HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + port + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, metrics.statusCode());
        assertTrue(metrics.body().contains("pgamqp_messages_confirmed_total{broker=\"" + broker + "\"} 1.0"),
            metrics.body());
        HttpResponse<String> page = http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + port + "/")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("<tr data-broker=\"" + broker + "\">"), page.body());
      } finally {
        run.destroy(); // SIGTERM: the launcher exec'd the JVM, so it is the JVM that gets it
        boolean exited = run.waitFor(60, TimeUnit.SECONDS);
        if (!exited) {
          run.destroyForcibly();
        }
        assertTrue(exited, "run did not stop on SIGTERM; log:\n" + read(log));
      }
      assertEquals(0, run.exitValue(), read(log));
    }
  }

  /** The unpacked config/application.conf, pointed at {@code db}: nothing comes from the environment. */
  private static void configure(TestDatabase db, TestServers servers) throws Exception {
    Path conf = home.resolve("config/application.conf");
    String text = Files.readString(conf);
    String configured = text
        .replace("url = \"jdbc:postgresql://127.0.0.1:5432/postgres\"", "url = \"" + db.jdbcUrl() + "\"")
        .replace("user = \"postgres\"", "user = \"" + servers.dbUser() + "\"")
        .replace("password = \"\"", "password = \""
            + (servers.dbPassword() == null ? "" : servers.dbPassword()) + "\"");
    assertTrue(configured.contains(db.jdbcUrl()), "config/application.conf has the database url line:\n" + text);
    Files.writeString(conf, configured);
  }

  private static CommandRun pgamqp(Map<String, String> environment, String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of(home.resolve("bin/pgamqp").toString()));
    command.addAll(List.of(args));
    return CommandRun.run(command, elsewhere, environment, WAIT);
  }

  private static String read(Path log) {
    try {
      return Files.readString(log);
    } catch (java.io.IOException e) {
      return "(no log: " + e + ")";
    }
  }
}
