package io.pgamqp.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.Bridge;
import io.pgamqp.badinput.Harness;
import io.pgamqp.testkit.AmqpEndpoint;
import io.pgamqp.testkit.AmqpTestClient;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Route;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * TLS to the broker (amqp.broker.tls), through a TLS endpoint this test puts in front of the AMQP broker, with a CA
 * it generates: the right CA and host name deliver; a wrong CA or a certificate for another name are refused (nothing
 * sent, nothing lost, amqp.status says why); tls_server_name and tls_verify = false behave as documented.
 */
@Tag("end-to-end")
@Timeout(120)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TlsEndToEndTest {
  private TestCertificates.Ca ca;
  private Path caFile;
  private Path otherCaFile;

  @BeforeAll
  void certificates() throws Exception {
    ca = TestCertificates.newCa("pgamqp test CA");
    caFile = ca.pemFile();
    otherCaFile = TestCertificates.newCa("some other CA").pemFile();
  }

  @AfterAll
  void nothing() {}

  private record Setup(TestDatabase db, AmqpTestClient amqp, TlsTerminatingProxy proxy, int brokerId,
      Route route) implements AutoCloseable {
    @Override
    public void close() {
      try {
        proxy.close();
        amqp.close();
      } finally {
        db.close();
      }
    }
  }

  private Setup setup(String prefix, String... certNames) throws Exception {
    AmqpEndpoint amqpEndpoint = TestServers.get().amqp();
    TlsTerminatingProxy proxy = new TlsTerminatingProxy(TestCertificates.issue(ca, certNames).sslContext(),
        amqpEndpoint.host(), amqpEndpoint.port());
    TestDatabase db = TestServers.get().createDatabase(prefix);
    AmqpTestClient amqp = new AmqpTestClient();
    int id = (int) db.queryLong("insert into amqp.broker (host, port, vhost, username, password, tls)"
        + " values ('127.0.0.1', ?, ?, ?, ?, true) returning broker_id", proxy.port(), amqpEndpoint.vhost(),
        amqpEndpoint.username(), amqpEndpoint.password());
    return new Setup(db, amqp, proxy, id, Route.declare(amqp, prefix));
  }

  private static String lastError(Setup s) throws Exception {
    return Harness.text(s.db(), "select last_error from amqp.status where broker_id = ?", s.brokerId());
  }

  @Test
  void theRightCaAndHostNameDeliver() throws Exception {
    try (Setup s = setup("tls_ok", "127.0.0.1", "localhost");
         Bridge bridge = BridgeRunner.start(s.db(), Map.of("pgamqp.tls.ca-file", caFile.toString()))) {
      List<String> bodies = Harness.bodies("tls", 20);
      Harness.publish(s.db(), s.brokerId(), s.route().exchange(), bodies);
      assertEquals(bodies, Harness.drainBodies(s.amqp(), s.route().queue(), 20, Duration.ofSeconds(30)));
      assertTrue(s.proxy().completedHandshakes() >= 1, "went through the TLS endpoint");
      Eventually.until("the connection is reported", Duration.ofSeconds(10), () -> Harness.text(s.db(),
          "select connected_to from amqp.status where broker_id = ?", s.brokerId()) != null);
    }
  }

  @Test
  void aCertificateFromAnotherCaIsRefused() throws Exception {
    try (Setup s = setup("tls_wrong_ca", "127.0.0.1", "localhost");
         Bridge bridge = BridgeRunner.start(s.db(), Map.of("pgamqp.tls.ca-file", otherCaFile.toString()))) {
      Harness.publish(s.db(), s.brokerId(), s.route().exchange(), List.of("must-wait"));
      Eventually.until("amqp.status names the certificate problem", Duration.ofSeconds(20),
          () -> String.valueOf(lastError(s)).contains("not signed by a trusted CA"));
      assertTrue(lastError(s).contains("certificate"), lastError(s));
      assertEquals(0, s.proxy().completedHandshakes());
      assertEquals(List.of(), Harness.drainBodies(s.amqp(), s.route().queue(), 1, Duration.ofSeconds(1)));
      assertEquals(1, s.db().queryLong("select count(*) from amqp.outbox"), "kept for when TLS is fixed");
      assertEquals(0, s.db().queryLong("select count(*) from amqp.dead_letter"));
    }
  }

  @Test
  void aCertificateForAnotherHostNameIsRefusedUnlessTlsServerNameSaysSo() throws Exception {
    try (Setup s = setup("tls_wrong_name", "broker.example.org");
         Bridge bridge = BridgeRunner.start(s.db(), Map.of("pgamqp.tls.ca-file", caFile.toString()))) {
      Harness.publish(s.db(), s.brokerId(), s.route().exchange(), List.of("after-fix"));
      Eventually.until("amqp.status names the host-name mismatch", Duration.ofSeconds(20),
          () -> String.valueOf(lastError(s)).contains("not for '127.0.0.1'"));
      assertTrue(lastError(s).contains("certificate is for [broker.example.org]"), lastError(s));
      assertEquals(List.of(), Harness.drainBodies(s.amqp(), s.route().queue(), 1, Duration.ofSeconds(1)));

      s.db().exec("update amqp.broker set tls_server_name = 'broker.example.org' where broker_id = ?", s.brokerId());
      assertEquals(List.of("after-fix"), Harness.drainBodies(s.amqp(), s.route().queue(), 1, Duration.ofSeconds(30)));
    }
  }

  @Test
  void tlsVerifyFalseOnlyEncrypts() throws Exception {
    try (Setup s = setup("tls_noverify", "broker.example.org")) {
      s.db().exec("update amqp.broker set tls_verify = false where broker_id = ?", s.brokerId());
      try (Bridge bridge = BridgeRunner.start(s.db(), Map.of("pgamqp.tls.ca-file", otherCaFile.toString()))) {
        Harness.publish(s.db(), s.brokerId(), s.route().exchange(), List.of("unverified"));
        assertEquals(List.of("unverified"),
            Harness.drainBodies(s.amqp(), s.route().queue(), 1, Duration.ofSeconds(30)));
        assertTrue(s.proxy().completedHandshakes() >= 1);
      }
    }
  }
}
