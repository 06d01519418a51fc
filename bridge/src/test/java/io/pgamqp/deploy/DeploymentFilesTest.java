package io.pgamqp.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * config/kubernetes/pgamqp.yaml and config/systemd/pgamqp.service checked against what the bridge reads and does:
 * its environment variables, ports, drain timeout, health endpoints and the image's user. No server needed.
 */
class DeploymentFilesTest {
  private static final Pattern REFERENCE = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)");
  private static final String IMAGE_USER = "10001";

  private static Map<String, JsonNode> kubernetes; // kind -> object

  @BeforeAll
  static void readManifest() throws IOException {
    kubernetes = new LinkedHashMap<>();
    ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
    try (MappingIterator<JsonNode> documents = yaml.readerFor(JsonNode.class)
        .readValues(Distribution.repositoryFile("config/kubernetes/pgamqp.yaml").toFile())) {
      while (documents.hasNext()) {
        JsonNode document = documents.next();
        if (document != null && !document.isNull() && !document.isEmpty()) {
          assertNull(kubernetes.put(document.path("kind").asText(), document),
              "one object per kind: " + document.path("kind").asText());
        }
      }
    }
  }

  @Test
  void statefulSetRunsAThreeNodeClusterBehindAHeadlessService() {
    JsonNode set = object("StatefulSet");
    JsonNode service = object("Service");
    assertEquals("apps/v1", set.path("apiVersion").asText());
    assertEquals(3, set.at("/spec/replicas").asInt());
    assertEquals(service.at("/metadata/name").asText(), set.at("/spec/serviceName").asText(),
        "the StatefulSet's pods get DNS names from this Service");
    assertEquals("None", service.at("/spec/clusterIP").asText(), "headless");
    assertTrue(service.at("/spec/publishNotReadyAddresses").asBoolean(),
        "seeds must resolve before they are ready: readiness needs cluster membership");
    assertTrue(selects(service.at("/spec/selector"), set.at("/spec/template/metadata/labels")));
    assertTrue(selects(set.at("/spec/selector/matchLabels"), set.at("/spec/template/metadata/labels")));
    assertTrue(ports(service.at("/spec/ports"), "port").contains(BridgeFacts.clusterPort()));
  }

  @Test
  void podDisruptionBudgetKeepsAMajority() {
    JsonNode budget = object("PodDisruptionBudget");
    assertEquals("policy/v1", budget.path("apiVersion").asText());
    assertTrue(selects(budget.at("/spec/selector/matchLabels"), object("StatefulSet").at("/spec/template/metadata/labels")));
    int replicas = object("StatefulSet").at("/spec/replicas").asInt();
    int mayBeDown = budget.at("/spec/maxUnavailable").isMissingNode()
        ? replicas - budget.at("/spec/minAvailable").asInt()
        : budget.at("/spec/maxUnavailable").asInt();
    assertTrue(mayBeDown >= 1 && replicas - mayBeDown > replicas / 2,
        "a voluntary disruption leaves a majority (keep-majority): " + mayBeDown + " of " + replicas);
  }

  @Test
  void probesPortsAndResourcesMatchTheBridge() {
    JsonNode container = container();
    Map<String, Integer> named = new HashMap<>();
    container.path("ports").forEach(p -> named.put(p.path("name").asText(), p.path("containerPort").asInt()));
    assertEquals(BridgeFacts.httpPort(), named.get("http"));
    assertEquals(BridgeFacts.clusterPort(), named.get("cluster"));
    assertEquals(Integer.toString(BridgeFacts.httpPort()), literalEnv().get("PGAMQP_HTTP_PORT"));
    assertEquals(Integer.toString(BridgeFacts.clusterPort()), literalEnv().get("PGAMQP_CLUSTER_PORT"));

    assertEquals("/health/live", container.at("/livenessProbe/httpGet/path").asText());
    assertEquals("/health/ready", container.at("/readinessProbe/httpGet/path").asText());
    for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
      JsonNode port = container.path(probe).at("/httpGet/port");
      int number = port.isInt() ? port.asInt() : named.getOrDefault(port.asText(), -1);
      assertEquals(BridgeFacts.httpPort(), number, probe + " port");
    }
    for (String kind : List.of("requests", "limits")) {
      for (String resource : List.of("cpu", "memory")) {
        assertFalse(container.at("/resources/" + kind + "/" + resource).asText().isBlank(), kind + "." + resource);
      }
    }
    JsonNode pod = object("StatefulSet").at("/spec/template/spec/securityContext");
    assertTrue(pod.path("runAsNonRoot").asBoolean());
    assertEquals(IMAGE_USER, pod.path("runAsUser").asText(), "the Dockerfile's user");
  }

  @Test
  void databaseUrlAndPasswordsComeFromASecretAndEveryEnvNameIsReadByTheBridge() throws IOException {
    JsonNode env = container().path("env");
    List<String> names = new ArrayList<>();
    env.forEach(e -> names.add(e.path("name").asText()));
    for (String required : List.of("PGAMQP_DB_URL", "PGAMQP_DB_USER", "PGAMQP_DB_PASSWORD")) {
      assertTrue(names.contains(required), required);
    }
    String allValues = String.join(" ", literalEnv().values());
    for (JsonNode e : env) {
      String name = e.path("name").asText();
      if (name.contains("PASSWORD") || name.equals("PGAMQP_DB_URL")) {
        assertEquals("pgamqp", e.at("/valueFrom/secretKeyRef/name").asText(), name + " from the Secret");
        assertTrue(e.path("value").isMissingNode(), name + " has no literal value");
      }
      boolean referenced = allValues.contains("$(" + name + ")");
      assertTrue(BridgeFacts.readsEnvironment(name) || referenced,
          name + " is neither read by the bridge or bin/pgamqp (" + BridgeFacts.environmentNames()
              + ") nor referenced by another variable");
    }
    for (String value : literalEnv().values()) {
      Matcher m = REFERENCE.matcher(value);
      while (m.find()) {
        int index = names.indexOf(m.group(1));
        assertTrue(index >= 0 && index < names.indexOf(nameOfValue(value)),
            "$(" + m.group(1) + ") is defined before its use in " + value);
      }
    }
  }

  @Test
  void seedNodesAreTheStatefulSetsStableNames() {
    Map<String, String> env = literalEnv();
    String set = object("StatefulSet").at("/metadata/name").asText();
    String service = object("StatefulSet").at("/spec/serviceName").asText();
    int replicas = object("StatefulSet").at("/spec/replicas").asInt();
    String suffix = "." + service + ".$(POD_NAMESPACE).svc.cluster.local";
    assertEquals("$(POD_NAME)" + suffix, env.get("PGAMQP_CLUSTER_HOST"),
        "a node's own address must be spelled exactly as the others' seed list spells it");
    assertEquals("true", env.get("PGAMQP_CLUSTER_ENABLED"));
    String[] seeds = env.get("PGAMQP_CLUSTER_SEED_NODES").split(",");
    assertTrue(seeds.length >= 2 && seeds.length <= replicas, "2 or 3 seeds");
    for (int i = 0; i < seeds.length; i++) {
      assertEquals(set + "-" + i + suffix + ":" + BridgeFacts.clusterPort(), seeds[i]);
    }
    String configFile = env.get("PGAMQP_CONFIG_FILE");
    assertEquals("/opt/pgamqp/config/cluster.conf", configFile, "the image's cluster configuration");
    assertTrue(env.get("JAVA_OPTS").contains("-Dpgamqp.cluster.bind-host=0.0.0.0"), env.get("JAVA_OPTS"));
  }

  @Test
  void terminationGracePeriodExceedsTheDrainTimeout() {
    Duration drain = BridgeFacts.drainTimeout("config/cluster.conf");
    long grace = object("StatefulSet").at("/spec/template/spec/terminationGracePeriodSeconds").asLong();
    assertTrue(grace > drain.toSeconds() + 10, grace + " s grace vs drain-timeout " + drain
        + " (plus the cluster hand-over)");
  }

  @Test
  void systemdRestartsOnFailureAndStopsGracefullyWithSigterm() throws IOException {
    Map<String, String> service = iniSection(Distribution.lines("config/systemd/pgamqp.service"), "Service");
    assertEquals("on-failure", service.get("Restart"));
    assertEquals("SIGTERM", service.get("KillSignal"));
    Duration drain = BridgeFacts.drainTimeout("config/application.conf");
    assertTrue(Long.parseLong(service.get("TimeoutStopSec")) > drain.toSeconds(),
        "TimeoutStopSec " + service.get("TimeoutStopSec") + " vs drain-timeout " + drain);
    assertEquals("/opt/pgamqp/bin/pgamqp run", service.get("ExecStart"));
    assertTrue(Files.isExecutable(Distribution.repositoryFile("bridge/src/dist/bin/pgamqp")));
    assertFalse(List.of("", "root", "0").contains(service.getOrDefault("User", "")), "runs as a system user");
    assertEquals("/opt/pgamqp", service.get("WorkingDirectory"));
  }

  private static JsonNode object(String kind) {
    JsonNode node = kubernetes.get(kind);
    assertNotNull(node, "config/kubernetes/pgamqp.yaml has a " + kind);
    return node;
  }

  private static JsonNode container() {
    JsonNode containers = object("StatefulSet").at("/spec/template/spec/containers");
    assertEquals(1, containers.size());
    return containers.get(0);
  }

  /** env entries with a literal value, by name. */
  private static Map<String, String> literalEnv() {
    Map<String, String> env = new LinkedHashMap<>();
    container().path("env").forEach(e -> {
      if (e.has("value")) {
        env.put(e.path("name").asText(), e.path("value").asText());
      }
    });
    return env;
  }

  private static String nameOfValue(String value) {
    return literalEnv().entrySet().stream().filter(e -> e.getValue().equals(value)).findFirst()
        .map(Map.Entry::getKey).orElseThrow();
  }

  private static boolean selects(JsonNode selector, JsonNode labels) {
    if (selector instanceof MissingNode || selector.isEmpty()) {
      return false;
    }
    List<String> mismatches = new ArrayList<>();
    selector.fields().forEachRemaining(f -> {
      if (!f.getValue().asText().equals(labels.path(f.getKey()).asText())) {
        mismatches.add(f.getKey());
      }
    });
    return mismatches.isEmpty();
  }

  private static List<Integer> ports(JsonNode list, String field) {
    List<Integer> ports = new ArrayList<>();
    list.forEach(p -> ports.add(p.path(field).asInt()));
    return ports;
  }

  /** key=value lines of one [section] of a systemd unit (comments and other sections skipped). */
  static Map<String, String> iniSection(List<String> lines, String section) {
    Map<String, String> values = new LinkedHashMap<>();
    String current = "";
    for (String raw : lines) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
        continue;
      }
      if (line.startsWith("[") && line.endsWith("]")) {
        current = line.substring(1, line.length() - 1);
      } else if (current.equals(section) && line.contains("=")) {
        values.put(line.substring(0, line.indexOf('=')).strip(), line.substring(line.indexOf('=') + 1).strip());
      }
    }
    return values;
  }
}
