package io.pgamqp.broker;

/**
 * One {@code amqp.broker} row: an address of broker {@code brokerId}. Rows sharing an id are its failover list, tried
 * ordered by host descending, then port (as pg_amqp does). NULL vhost and username mean "/" and guest; a NULL
 * {@code password} means guest unless the configuration has one for this broker ({@code pgamqp.brokers}). With
 * {@code tls} the connection is amqps; {@code tlsVerify} checks the CA chain and that the certificate names
 * {@code tlsServerName} (null: {@code host}). Immutable; {@link #toString()} never shows the password.
 */
public record BrokerEndpoint(int brokerId, String host, int port, String vhost, String username, String password,
    boolean tls, boolean tlsVerify, String tlsServerName) {

  /** The name the broker's certificate must carry. */
  public String expectedServerName() {
    return tlsServerName == null || tlsServerName.isEmpty() ? host : tlsServerName;
  }

  /** For logs: amqp(s)://user@host:port/vhost, no password. */
  public String describe() {
    return (tls ? "amqps://" : "amqp://") + username + "@" + host + ":" + port
        + (vhost.equals("/") ? "/" : "/" + vhost);
  }

  @Override
  public String toString() {
    return describe();
  }
}
