package io.pgamqp.broker;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.AuthenticationFailureException;
import com.rabbitmq.client.ShutdownSignalException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import javax.net.ssl.SSLException;

/**
 * The one place that turns exceptions into the texts users read: log lines, {@code amqp.broker_state.last_error},
 * {@code /health/ready} and dead-letter reasons. A text names what failed as the broker or the client said it, never
 * a class name where a message exists. Pure; thread-safe.
 */
final class ErrorText {
  private ErrorText() {}

  /** Any failure of a step: the innermost meaningful message. */
  static String of(Throwable e) {
    if (e instanceof ShutdownSignalException s) {
      return of(s);
    }
    String m = e.getMessage();
    if (m == null && e.getCause() != null) {
      return of(e.getCause()); // e.g. an IOException from createChannel wrapping the connection's shutdown
    }
    return m == null ? e.getClass().getSimpleName() : m;
  }

  /** A closed channel or connection: the broker's close frame, or which socket failure ended it. */
  static String of(ShutdownSignalException cause) {
    Object reason = cause.getReason();
    if (reason instanceof AMQP.Channel.Close c) {
      return c.getReplyText() + " (channel error " + c.getReplyCode() + ")";
    }
    if (reason instanceof AMQP.Connection.Close c) {
      return c.getReplyText() + " (connection error " + c.getReplyCode() + ")";
    }
    // No close frame: the socket failed, e.g. "connection error: Heartbeat missing with heartbeat = 2 seconds"
    // (a black-holed peer) or "connection error: Connection reset". Say which.
    Throwable io = cause.getCause();
    if (io != null && io.getMessage() != null) {
      return cause.getMessage() + ": " + io.getMessage();
    }
    if (io != null) {
      return cause.getMessage() + ": " + io.getClass().getSimpleName();
    }
    return String.valueOf(cause.getMessage());
  }

  /** Why one endpoint refused a connection: TLS and authentication failures said plainly. */
  static String ofConnect(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof SSLException) {
        return "TLS handshake failed: " + c.getMessage();
      }
    }
    if (t instanceof AuthenticationFailureException) {
      return "authentication failed (check username and password)";
    }
    if (t.getCause() instanceof ShutdownSignalException s) {
      return of(s);
    }
    String msg = t.getMessage();
    return msg == null ? t.getClass().getSimpleName() : msg;
  }

  /** A declaration's error that says the exchange does not exist (404 NOT_FOUND). */
  static boolean isNotFound(String error) {
    return error != null && error.endsWith("(channel error 404)");
  }

  /** The failure inside a future's wrapper. */
  static Throwable unwrap(Throwable e) {
    while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }
}
