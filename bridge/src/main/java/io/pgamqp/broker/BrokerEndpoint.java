package io.pgamqp.broker;

/**
 * One {@code amqp.broker} row: an address of broker {@code brokerId}. Rows sharing an id are its failover list, tried
 * ordered by host descending, then port (as pg_amqp does). NULL vhost/username/password mean "/", guest, guest.
 * Immutable; {@link #toString()} never shows the password.
 */
public record BrokerEndpoint(int brokerId, String host, int port, String vhost, String username, String password) {

  /** For logs: amqp://user@host:port/vhost, no password. */
  public String describe() {
    return "amqp://" + username + "@" + host + ":" + port + (vhost.equals("/") ? "/" : "/" + vhost);
  }

  @Override
  public String toString() {
    return describe();
  }
}
