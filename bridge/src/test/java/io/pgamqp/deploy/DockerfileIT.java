package io.pgamqp.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * config/docker/Dockerfile against the distribution it packages. No image can be built here (no registry for base
 * images, no daemon), so this reads the Dockerfile's instructions and checks each against the built tarball: what it
 * copies, where that lands, what it runs, as whom, on which ports, and what the health check asks.
 */
class DockerfileIT {
  private static final Pattern INSTRUCTION = Pattern.compile("^([A-Z]+)\\s+(.*)$");

  @TempDir
  static Path temp;
  private static Path unpacked; // the distribution's top folder, as /opt/ would hold it
  private static List<String[]> instructions;
  private static Map<String, String> args;

  @BeforeAll
  static void read() throws Exception {
    unpacked = Distribution.unpack(temp);
    instructions = new ArrayList<>();
    StringBuilder line = new StringBuilder();
    for (String raw : Distribution.lines("config/docker/Dockerfile")) {
      if (line.isEmpty() && (raw.isBlank() || raw.stripLeading().startsWith("#"))) {
        continue;
      }
      if (raw.endsWith("\\")) {
        line.append(raw, 0, raw.length() - 1).append(' ');
        continue;
      }
      line.append(raw);
      Matcher m = INSTRUCTION.matcher(line.toString().strip());
      assertTrue(m.matches(), "not an instruction: " + line);
      instructions.add(new String[] {m.group(1), m.group(2).strip()});
      line.setLength(0);
    }
    args = new TreeMap<>();
    for (String value : all("ARG")) {
      String[] parts = value.split("=", 2);
      args.put(parts[0], parts.length > 1 ? parts[1] : "");
    }
  }

  @Test
  void baseImageIsAJava17Runtime() {
    List<String> from = all("FROM");
    assertEquals(1, from.size(), "one stage");
    assertTrue(from.get(0).matches("[\\w./-]+:17[\\w.-]*-jre[\\w.-]*"), from.get(0));
  }

  @Test
  void copiesOnlyTheTarballOfThisBuildAndRunsItsLauncher() throws Exception {
    assertEquals(Distribution.version(), args.get("VERSION"), "ARG VERSION is the version mvn package builds");
    List<String> copies = new ArrayList<>(all("COPY"));
    copies.addAll(all("ADD"));
    assertEquals(1, copies.size(), "one ADD/COPY: " + copies);
    String[] add = expand(copies.get(0)).split("\\s+");
    assertEquals(2, add.length, copies.get(0));
    assertEquals(Distribution.tarball().getFileName().toString(), add[0], "the tarball built by mvn package");
    assertTrue(all("ADD").size() == 1, "ADD (which unpacks a local tar.gz), not COPY");
    String opt = add[1].endsWith("/") ? add[1] : add[1] + "/";
    String home = opt + unpacked.getFileName(); // where the tarball's top folder lands
    String link = all("RUN").stream().map(DockerfileIT::expand).filter(r -> r.startsWith("ln -s ")).findFirst()
        .orElseThrow(() -> new AssertionError("RUN ln -s <home> /opt/pgamqp"));
    String[] ln = link.split("\\s+");
    assertEquals(home, ln[2], "the link points at the unpacked distribution");
    String linkedHome = ln[3];

    assertEquals(linkedHome, all("WORKDIR").get(0));
    String entrypoint = all("ENTRYPOINT").get(0);
    assertTrue(entrypoint.startsWith("[\"" + linkedHome + "/"), entrypoint);
    String launcher = entrypoint.substring(2 + linkedHome.length() + 1, entrypoint.indexOf('"', 2));
    assertTrue(Files.isExecutable(unpacked.resolve(launcher)), launcher + " is an executable of the distribution");
    assertEquals("[\"run\"]", all("CMD").get(0));
  }

  @Test
  void runsAsTheNonRootUserItCreates() {
    String user = all("USER").get(all("USER").size() - 1);
    String uid = user.split(":")[0];
    assertFalse(List.of("root", "0").contains(uid), "USER " + user);
    String runs = String.join(" && ", all("RUN"));
    assertTrue(runs.contains("useradd") && runs.contains("--uid " + uid), "useradd creates uid " + uid);
    assertTrue(runs.contains("groupadd") && user.contains(":") && runs.contains("--gid " + user.split(":")[1]));
  }

  @Test
  void exposesTheOperationsAndClusterPortsAndChecksLiveness() throws Exception {
    Path httpConfig = unpacked.resolve("config/application.conf");
    Path clusterConfig = unpacked.resolve("config/cluster.conf");
    int http = BridgeFacts.exampleConfig(httpConfig).getInt("pgamqp.http.port");
    int cluster = BridgeFacts.exampleConfig(clusterConfig).getInt("pgamqp.cluster.port");
    assertEquals(List.of(Integer.toString(http), Integer.toString(cluster)),
        List.of(String.join(" ", all("EXPOSE")).split("\\s+")));
    assertEquals(List.of(8559, 25520), List.of(http, cluster), "the ports the issue names");
    String health = all("HEALTHCHECK").get(0);
    assertTrue(health.contains(" CMD "), health);
    assertTrue(health.contains("http://127.0.0.1:" + http + "/health/live"), health);
    assertTrue(health.contains("curl -f") || health.contains("curl -sf") || health.contains("curl -fsS"),
        "fails on an HTTP error status: " + health);
    assertEquals("SIGTERM", all("STOPSIGNAL").get(0));
  }

  private static List<String> all(String instruction) {
    return instructions.stream().filter(i -> i[0].equals(instruction)).map(i -> i[1]).toList();
  }

  /** ${NAME} of the Dockerfile's ARGs replaced by their defaults. */
  private static String expand(String text) {
    String result = text;
    for (Map.Entry<String, String> arg : args.entrySet()) {
      result = result.replace("${" + arg.getKey() + "}", arg.getValue()).replace("$" + arg.getKey(), arg.getValue());
    }
    return result;
  }
}
