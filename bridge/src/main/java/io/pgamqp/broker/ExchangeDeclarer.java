package io.pgamqp.broker;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.pgamqp.outbox.ExchangeDeclaration;
import java.io.IOException;
import java.util.concurrent.TimeoutException;

/**
 * Applies an {@code amqp.exchange_declare} request. Each declaration gets a channel of its own, because a failed
 * declaration closes its channel and must not take the publishing channel with it. Blocking.
 */
final class ExchangeDeclarer {
  private ExchangeDeclarer() {}

  /** Returns null when it worked, otherwise what the broker said. */
  static String declare(Connection connection, ExchangeDeclaration d) {
    Channel ch = null;
    try {
      ch = connection.createChannel();
      if (d.passive()) {
        ch.exchangeDeclarePassive(d.exchange());
      } else {
        ch.exchangeDeclare(d.exchange(), d.type(), d.durable(), d.autoDelete(), null);
      }
      return null;
    } catch (IOException e) {
      return ErrorText.ofDeclare(e);
    } catch (RuntimeException e) {
      return String.valueOf(e.getMessage());
    } finally {
      if (ch != null && ch.isOpen()) {
        try {
          ch.close();
        } catch (IOException | TimeoutException | RuntimeException ignored) {
          // the channel is of no further use
        }
      }
    }
  }
}
