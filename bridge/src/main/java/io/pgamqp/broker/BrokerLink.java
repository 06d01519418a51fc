package io.pgamqp.broker;

import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ShutdownSignalException;
import io.pgamqp.outbox.DestinationHolds;
import io.pgamqp.outbox.ExchangeDeclaration;
import io.pgamqp.outbox.Settlement;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One live AMQP connection of a broker and the rows it was made from: opened with the broker's recorded exchange
 * declarations re-applied, watched for loss and for RabbitMQ flow control, closed without blocking the actor.
 *
 * <p>Threading: {@link #open} and {@link #openPublisher} block (the blocking dispatcher); the rest is called by the
 * broker's supervisor. The connection's listeners run on the client's connection thread and only log, update the
 * thread-safe {@link ConfirmingPublisher.FlowControl} and call the loss callback.
 */
final class BrokerLink {
  private static final Logger log = LoggerFactory.getLogger(BrokerLink.class);

  private final int brokerId;
  private final BrokerCatalog.BrokerConfig config;
  private final AmqpConnector.Opened opened;
  // RabbitMQ flow control (memory or disk alarm): the broker stops reading from the connection until unblocked.
  // Nothing is lost; the publishers' confirm-timeout clocks stop meanwhile, so the pause causes no retries.
  private final ConfirmingPublisher.FlowControl flow = new ConfirmingPublisher.FlowControl();

  private final List<DestinationHolds.Hold> heldAtConnect;

  private BrokerLink(BrokerCatalog.BrokerConfig config, AmqpConnector.Opened opened,
      List<DestinationHolds.Hold> heldAtConnect) {
    this.heldAtConnect = heldAtConnect;
    this.brokerId = config.brokerId();
    this.config = config;
    this.opened = opened;
    String endpoint = opened.endpoint().describe();
    opened.connection().addBlockedListener(
        reason -> {
          flow.blocked();
          log.warn("broker {}: RabbitMQ blocked publishing: {}; waiting", brokerId, reason);
        },
        () -> {
          flow.unblocked();
          log.info("broker {}: RabbitMQ unblocked publishing on {}", brokerId, endpoint);
        });
  }

  /**
   * Blocking: reads the broker's rows afresh, connects to the first endpoint that answers, applies its recorded
   * declarations (recording each outcome) and withdraws its wake-up request.
   */
  static BrokerLink open(int brokerId, BrokerSupervisor.Deps deps) throws Exception {
    BrokerCatalog.BrokerConfig config = deps.catalog().brokers().toCompletableFuture().join().get(brokerId);
    if (config == null) {
      throw new IllegalStateException("broker " + brokerId + " has no rows in amqp.broker");
    }
    AmqpConnector.Opened opened = AmqpConnector.connect(config.endpoints(), deps.settings());
    try {
      Map<String, ExchangeDeclaration> all = deps.catalog().declarations(brokerId, null).toCompletableFuture().join();
      List<Settlement.Declaration> outcomes = new ArrayList<>(all.size());
      for (ExchangeDeclaration d : all.values()) {
        String error = ExchangeDeclarer.declare(opened.connection(), d);
        outcomes.add(new Settlement.Declaration(d.exchange(), error));
        if (error != null) {
          log.warn("broker {}: declaring exchange '{}' failed: {}", brokerId, d.exchange(), error);
        }
      }
      deps.store().recordDeclarations(brokerId, outcomes).toCompletableFuture().join();
      deps.store().clearWaiting(brokerId).toCompletableFuture().join();
      List<DestinationHolds.Hold> held = deps.store().heldDestinations(brokerId).toCompletableFuture().join();
      return new BrokerLink(config, opened, held);
    } catch (Exception | Error e) {
      closeQuietly(opened.connection());
      throw e;
    }
  }

  /** Calls {@code lost} with the reason when the connection closes other than by this bridge. */
  void onLoss(Consumer<String> lost) {
    opened.connection().addShutdownListener(cause -> {
      if (!cause.isInitiatedByApplication()) {
        lost.accept(ErrorText.of(cause));
      }
    });
  }

  /** Blocking: a confirm-mode publisher on this connection, sharing its flow-control state. */
  ConfirmingPublisher openPublisher(Duration confirmTimeout, DestinationHolds holds) throws IOException {
    return ConfirmingPublisher.open(opened.connection(), confirmTimeout, flow, holds);
  }

  /** Blocking: does {@code exchange} exist (a passive declare on a channel of its own)? Null if so, else why not. */
  String checkExchange(String exchange) {
    return ExchangeDeclarer.declare(opened.connection(), new ExchangeDeclaration(exchange, "", true, false, false));
  }

  /** The destinations held (amqp.held_destination) when this connection was opened: an earlier owner's holds. */
  List<DestinationHolds.Hold> heldAtConnect() {
    return heldAtConnect;
  }

  BrokerCatalog.BrokerConfig config() {
    return config;
  }

  boolean isOpen() {
    return opened.connection().isOpen();
  }

  /** Why the connection closed, for a loss noticed by a failed step before its shutdown listener said so. */
  String closeReason() {
    ShutdownSignalException why = opened.connection().getCloseReason();
    return why == null ? "closed" : ErrorText.of(why);
  }

  /** For logs: the endpoint's URI without password. */
  String endpoint() {
    return opened.endpoint().describe();
  }

  /** {@code host:port}, as amqp.status and /health/ready show it. */
  String hostPort() {
    return opened.endpoint().host() + ":" + opened.endpoint().port();
  }

  /**
   * Closes the connection. That waits up to 2 s for the broker's close-ok, which a black-holed link never sends: off
   * the actor's thread on {@code blocking}, unless already closed.
   */
  void close(Executor blocking) {
    Connection c = opened.connection();
    if (c.isOpen()) {
      closeOff(blocking, () -> closeQuietly(c));
    }
  }

  /** Closes the connection on the calling thread (stopping: nothing else is waiting). */
  void closeNow() {
    closeQuietly(opened.connection());
  }

  /** Runs a close that may block on {@code blocking}, or here once that dispatcher is shutting down. */
  static void closeOff(Executor blocking, Runnable close) {
    try {
      CompletableFuture.runAsync(close, blocking);
    } catch (RuntimeException rejected) { // the dispatcher is shutting down
      close.run();
    }
  }

  private static void closeQuietly(Connection c) {
    try {
      if (c.isOpen()) {
        c.close(2_000);
      }
    } catch (Exception ignored) {
      // already closed or unreachable: nothing more to do
    }
  }
}
