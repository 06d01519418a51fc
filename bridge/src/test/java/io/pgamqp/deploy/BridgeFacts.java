package io.pgamqp.deploy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigResolveOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the deployment files must agree with, read from the sources that define it: the environment variables the
 * bridge and its launcher read, and settings of the example configuration files (as a node using them would see
 * them, environment overrides left out).
 */
final class BridgeFacts {
  private static final Pattern ENV_OVERRIDE = Pattern.compile("\\$\\{\\?([A-Z][A-Z0-9_]*)\\}");
  private static final Pattern SHELL_VARIABLE = Pattern.compile("\\$\\{?([A-Z][A-Z0-9_]*)");
  private static final Pattern SHELL_ASSIGNMENT = Pattern.compile("(?m)^\\s*([A-Z][A-Z0-9_]*)=");
  /** Documented in reference.conf (pgamqp.brokers) and read by BrokerAccess. */
  private static final Pattern BROKER_PASSWORD = Pattern.compile("PGAMQP_BROKER_[0-9]+_PASSWORD");

  private BridgeFacts() {}

  /** Every fixed environment variable name the bridge ({@code ${?NAME}} in its config) and bin/pgamqp read. */
  static Set<String> environmentNames() throws IOException {
    Set<String> names = new TreeSet<>();
    for (String file : List.of("bridge/src/main/resources/reference.conf", "config/application.conf",
        "config/cluster.conf")) {
      collect(ENV_OVERRIDE, Files.readString(Distribution.repositoryFile(file)), names);
    }
    String launcher = Files.readString(Distribution.repositoryFile("bridge/src/dist/bin/pgamqp"));
    Set<String> launcherNames = new TreeSet<>();
    collect(SHELL_VARIABLE, launcher, launcherNames);
    Set<String> assigned = new TreeSet<>();
    collect(SHELL_ASSIGNMENT, launcher, assigned); // its own variables, not read from the environment
    launcherNames.removeAll(assigned);
    names.addAll(launcherNames);
    return names;
  }

  /** Whether the bridge or its launcher reads environment variable {@code name}. */
  static boolean readsEnvironment(String name) throws IOException {
    return environmentNames().contains(name) || BROKER_PASSWORD.matcher(name).matches();
  }

  /** An example configuration file ({@code config/...}) resolved over reference.conf, without the environment. */
  static Config exampleConfig(Path file) {
    Config parsed = ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
    return parsed.withFallback(ConfigFactory.parseResources("reference.conf"))
        .resolve(ConfigResolveOptions.noSystem());
  }

  static Config exampleConfig(String relative) {
    return exampleConfig(Distribution.repositoryFile(relative));
  }

  static int httpPort() {
    return exampleConfig("config/application.conf").getInt("pgamqp.http.port");
  }

  static int clusterPort() {
    return exampleConfig("config/cluster.conf").getInt("pgamqp.cluster.port");
  }

  static Duration drainTimeout(String relative) {
    return exampleConfig(relative).getDuration("pgamqp.bridge.drain-timeout");
  }

  private static void collect(Pattern pattern, String text, Set<String> into) {
    Matcher m = pattern.matcher(text);
    while (m.find()) {
      into.add(m.group(1));
    }
  }
}
