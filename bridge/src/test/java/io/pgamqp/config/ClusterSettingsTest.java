package io.pgamqp.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** pgamqp.cluster: defaults, the Akka settings it stands for, and errors naming the key (and its env variable). */
class ClusterSettingsTest {

  private static Config with(Map<String, Object> overrides) {
    return ConfigFactory.parseMap(overrides).withFallback(ConfigFactory.defaultReference()).resolve();
  }

  @Test
  void offByDefault() {
    if (System.getenv("PGAMQP_CLUSTER_ENABLED") == null) {
      assertFalse(ClusterSettings.create(with(Map.of())).enabled());
    }
  }

  @Test
  void enabledNodeBecomesAnArteryClusterMemberWithTheSplitBrainResolver() {
    ClusterSettings s = ClusterSettings.create(with(Map.of(
        "pgamqp.cluster.enabled", true,
        "pgamqp.cluster.host", "10.0.0.5",
        "pgamqp.cluster.port", 25521,
        "pgamqp.cluster.seed-nodes", " 10.0.0.5:25520 , 10.0.0.6:25520")));
    assertEquals(List.of("akka://pgamqp@10.0.0.5:25520", "akka://pgamqp@10.0.0.6:25520"), s.seedNodes());
    assertEquals("10.0.0.5", s.bindHost());
    assertEquals(25521, s.bindPort());
    Config akka = s.akkaConfig(Duration.ofSeconds(20)).withFallback(ConfigFactory.defaultReference()).resolve();
    assertEquals("cluster", akka.getString("akka.actor.provider"));
    assertEquals("10.0.0.5", akka.getString("akka.remote.artery.canonical.hostname"));
    assertEquals(25521, akka.getInt("akka.remote.artery.canonical.port"));
    assertEquals(s.seedNodes(), akka.getStringList("akka.cluster.seed-nodes"));
    assertEquals("akka.cluster.sbr.SplitBrainResolverProvider", akka.getString("akka.cluster.downing-provider-class"));
    assertEquals("keep-majority", akka.getString("akka.cluster.split-brain-resolver.active-strategy"));
    assertEquals(Duration.ofSeconds(4), akka.getDuration("akka.cluster.split-brain-resolver.stable-after"));
    assertEquals("inet-address", akka.getString("akka.io.dns.resolver"), "async-dns stays off");
    // A leaving node hands brokers over only after draining them: the phase must outlast drain-timeout.
    assertTrue(akka.getDuration("akka.coordinated-shutdown.phases.cluster-sharding-shutdown-region.timeout")
        .compareTo(Duration.ofSeconds(20)) > 0);
    assertTrue(akka.getDuration("akka.coordinated-shutdown.phases.cluster-shutdown.timeout")
        .compareTo(Duration.ofSeconds(20)) > 0, "a downed node drains in cluster-shutdown");
  }

  @Test
  void bindAddressMayDifferFromTheAdvertisedOne() {
    ClusterSettings s = ClusterSettings.create(with(Map.of("pgamqp.cluster.enabled", true,
        "pgamqp.cluster.port", 30000, "pgamqp.cluster.bind-host", "0.0.0.0", "pgamqp.cluster.bind-port", "25520",
        "pgamqp.cluster.seed-nodes", "127.0.0.1:30000")));
    Config akka = s.akkaConfig(Duration.ofSeconds(1));
    assertEquals(30000, akka.getInt("akka.remote.artery.canonical.port"));
    assertEquals("0.0.0.0", akka.getString("akka.remote.artery.bind.hostname"));
    assertEquals("25520", akka.getString("akka.remote.artery.bind.port"));
  }

  @Test
  void errorsNameTheKey() {
    assertMessage("setting pgamqp.cluster.seed-nodes (env PGAMQP_CLUSTER_SEED_NODES) must list host:port",
        Map.of("pgamqp.cluster.enabled", true, "pgamqp.cluster.seed-nodes", ""));
    assertMessage("setting pgamqp.cluster.seed-nodes (env PGAMQP_CLUSTER_SEED_NODES): 'node1' is not host:port",
        Map.of("pgamqp.cluster.seed-nodes", "node1"));
    assertMessage("setting pgamqp.cluster.seed-nodes (env PGAMQP_CLUSTER_SEED_NODES): 'x' is not a TCP port",
        Map.of("pgamqp.cluster.seed-nodes", "node1:x"));
    assertMessage("setting pgamqp.cluster.port (env PGAMQP_CLUSTER_PORT) must be a TCP port",
        Map.of("pgamqp.cluster.port", 70000));
    assertMessage("setting pgamqp.cluster.enabled must be true or false",
        Map.of("pgamqp.cluster.enabled", "perhaps"));
    assertMessage("setting pgamqp.cluster.split-brain-resolver must be one of [down-all, keep-majority, keep-oldest]",
        Map.of("pgamqp.cluster.split-brain-resolver", "static-quorum"));
    assertMessage("setting pgamqp.cluster.bind-port: 'abc' is not a TCP port",
        Map.of("pgamqp.cluster.bind-port", "abc"));
    assertMessage("setting pgamqp.cluster.stable-after must be greater than 0",
        Map.of("pgamqp.cluster.stable-after", "0s"));
  }

  private static void assertMessage(String prefix, Map<String, Object> overrides) {
    ConfigError e = assertThrows(ConfigError.class, () -> ClusterSettings.create(with(overrides)));
    assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
  }
}
