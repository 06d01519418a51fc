package io.pgamqp.testkit;

import com.rabbitmq.client.ConnectionFactory;

/**
 * Where the tests' AMQP broker listens and how to log in. {@code vhost} is {@code "/"} for both RabbitMQ and the
 * embedded Qpid (whose default virtual host answers to "/").
 */
public record AmqpEndpoint(String host, int port, String username, String password, String vhost) {

  /** The same broker reached through another port, e.g. a {@link io.pgamqp.faults.TcpProxy}'s. */
  public AmqpEndpoint withPort(int newPort) {
    return new AmqpEndpoint(host, newPort, username, password, vhost);
  }

  /** A fresh amqp-client factory for this endpoint, automatic recovery off (tests decide when to reconnect). */
  public ConnectionFactory connectionFactory() {
    ConnectionFactory factory = new ConnectionFactory();
    factory.setHost(host);
    factory.setPort(port);
    factory.setUsername(username);
    factory.setPassword(password);
    factory.setVirtualHost(vhost);
    factory.setAutomaticRecoveryEnabled(false);
    factory.setConnectionTimeout(5_000);
    return factory;
  }
}
