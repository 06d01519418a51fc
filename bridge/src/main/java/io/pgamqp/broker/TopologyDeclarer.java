package io.pgamqp.broker;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ShutdownSignalException;
import io.pgamqp.outbox.ExchangeDeclaration;
import io.pgamqp.outbox.TopologyDeclaration;
import java.io.IOException;
import java.util.concurrent.TimeoutException;

/**
 * Applies recorded declarations ({@code amqp.exchange_declare}, {@code queue_declare}, {@code queue_bind},
 * {@code exchange_bind} and the unbinds) on a connection. Each gets a channel of its own, because a refused
 * declaration closes its channel and must not take the publishing channel with it. Blocking; stateless.
 *
 * <p>Two ways to fail, told apart because only one of them is the declaration's fault: the broker refused it (a
 * channel error such as 406 PRECONDITION_FAILED, or a connection error the call itself caused such as 503 for an
 * unknown exchange type): the text is returned and recorded as {@code failed}; or the connection went away under it
 * ({@link ConnectionLost}): nothing is known, so the declaration must be applied again on the next connection rather
 * than recorded as failed (a failed one is not re-applied at connect).
 */
final class TopologyDeclarer {
  private TopologyDeclarer() {}

  /** The connection was gone before or during the call: not the declaration's fault. */
  static final class ConnectionLost extends Exception {
    ConnectionLost(String reason) {
      super(reason, null, false, false);
    }
  }

  private interface Call {
    void run(Channel ch) throws IOException;
  }

  /** Returns null when it worked, otherwise what the broker said. */
  static String declare(Connection connection, ExchangeDeclaration d) throws ConnectionLost {
    if (d.argumentsError() != null) {
      return "arguments cannot be sent as AMQP: " + d.argumentsError();
    }
    return onOwnChannel(connection, ch -> {
      if (d.passive()) {
        ch.exchangeDeclarePassive(d.exchange());
      } else {
        ch.exchangeDeclare(d.exchange(), d.type(), d.durable(), d.autoDelete(), d.arguments());
      }
    });
  }

  /** Returns null when it worked, otherwise what the broker said. */
  static String declare(Connection connection, TopologyDeclaration d) throws ConnectionLost {
    if (d.argumentsError() != null) {
      return "arguments cannot be sent as AMQP: " + d.argumentsError();
    }
    return onOwnChannel(connection, ch -> {
      switch (d.kind()) {
        // Never exclusive: an exclusive queue would go with this connection, and with it the messages.
        case QUEUE -> ch.queueDeclare(d.name(), d.durable(), false, d.autoDelete(), d.arguments());
        case QUEUE_BINDING -> {
          if (d.unbind()) {
            ch.queueUnbind(d.name(), d.source(), d.routingKey(), d.arguments());
          } else {
            ch.queueBind(d.name(), d.source(), d.routingKey(), d.arguments());
          }
        }
        case EXCHANGE_BINDING -> {
          if (d.unbind()) {
            ch.exchangeUnbind(d.name(), d.source(), d.routingKey(), d.arguments());
          } else {
            ch.exchangeBind(d.name(), d.source(), d.routingKey(), d.arguments());
          }
        }
      }
    });
  }

  private static String onOwnChannel(Connection connection, Call call) throws ConnectionLost {
    if (!connection.isOpen()) {
      throw new ConnectionLost(closeReason(connection));
    }
    Channel ch;
    try {
      ch = connection.createChannel();
    } catch (IOException | RuntimeException e) {
      throw new ConnectionLost(ErrorText.of(e));
    }
    if (ch == null) { // no free channel number: nothing about the declaration either
      throw new ConnectionLost("no free channel number");
    }
    try {
      call.run(ch);
      return null;
    } catch (IOException | RuntimeException e) {
      ShutdownSignalException why = shutdownOf(e);
      Object reason = why == null ? null : why.getReason();
      if (reason instanceof AMQP.Channel.Close) {
        return ErrorText.of(why);
      }
      // A connection error: this call's fault (e.g. 503 COMMAND_INVALID for an exchange type the broker lacks)
      // unless the broker closed everything (320 CONNECTION_FORCED) or the socket failed (no close frame).
      if (reason instanceof AMQP.Connection.Close c && c.getReplyCode() != AMQP.CONNECTION_FORCED) {
        return ErrorText.of(why);
      }
      if (why != null || !connection.isOpen()) {
        throw new ConnectionLost(why != null ? ErrorText.of(why) : closeReason(connection));
      }
      return ErrorText.of(e); // refused by the client itself, e.g. a value it cannot encode
    } finally {
      if (ch.isOpen()) {
        try {
          ch.close();
        } catch (IOException | TimeoutException | RuntimeException ignored) {
          // the channel is of no further use
        }
      }
    }
  }

  private static ShutdownSignalException shutdownOf(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof ShutdownSignalException s) {
        return s;
      }
    }
    return null;
  }

  private static String closeReason(Connection connection) {
    ShutdownSignalException why = connection.getCloseReason();
    return why == null ? "connection closed" : ErrorText.of(why);
  }
}
