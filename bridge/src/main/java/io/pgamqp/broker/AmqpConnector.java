package io.pgamqp.broker;

import akka.stream.alpakka.amqp.AmqpCredentials;
import akka.stream.alpakka.amqp.AmqpDetailsConnectionProvider;
import akka.stream.alpakka.amqp.AmqpSSLConfiguration;
import com.rabbitmq.client.Connection;
import io.pgamqp.config.BridgeSettings;
import java.util.ArrayList;
import java.util.List;

/**
 * Opens the AMQP connection of one broker through Alpakka's connection provider, trying its {@code amqp.broker} rows
 * in failover order, each with its own credentials and vhost. Automatic recovery is off: a broken connection is
 * replaced by its {@link BrokerSupervisor}, which also re-applies declarations and restarts the stream in order.
 * Blocking. Public for the CLI's {@code consume}, which must connect exactly as the bridge does (TLS, passwords from
 * config).
 */
public final class AmqpConnector {
  private AmqpConnector() {}

  /** Which endpoint answered, and its connection. */
  public record Opened(BrokerEndpoint endpoint, Connection connection) {}

  public static Opened connect(List<BrokerEndpoint> endpoints, BridgeSettings settings) throws Exception {
    List<String> failures = new ArrayList<>();
    for (BrokerEndpoint e : endpoints) {
      AmqpDetailsConnectionProvider provider = AmqpDetailsConnectionProvider.create(e.host(), e.port())
          .withCredentials(AmqpCredentials.create(e.username(), password(e, settings)))
          .withVirtualHost(e.vhost())
          .withAutomaticRecoveryEnabled(false)
          .withTopologyRecoveryEnabled(false)
          .withRequestedHeartbeat((int) Math.max(1, settings.amqpHeartbeat().toSeconds()))
          .withConnectionTimeout((int) settings.amqpConnectTimeout().toMillis())
          .withHandshakeTimeout((int) Math.max(10_000, settings.amqpConnectTimeout().toMillis()))
          .withConnectionName("pgamqp broker " + e.brokerId());
      try {
        if (e.tls()) {
          // The CA chain and the host name (tls_server_name, else host) are checked by BrokerAccess's trust manager.
          provider = provider.withSSLConfiguration(AmqpSSLConfiguration.create(
              settings.brokerAccess().sslContext(e.expectedServerName(), e.tlsVerify())));
        }
        return new Opened(e, provider.get());
      } catch (Exception ex) {
        failures.add(e.describe() + ": " + ErrorText.ofConnect(ex));
      }
    }
    throw new Exception(String.join("; ", failures));
  }

  /** The configured password for this broker (pgamqp.brokers / PGAMQP_BROKER_<ID>_PASSWORD), else the row's, else guest. */
  static String password(BrokerEndpoint e, BridgeSettings settings) {
    String configured = settings.brokerAccess().password(e.brokerId());
    if (configured != null) {
      return configured;
    }
    return e.password() == null ? "guest" : e.password();
  }
}
