package io.pgamqp.broker;

import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ShutdownSignalException;
import io.pgamqp.outbox.DestinationHolds;
import io.pgamqp.outbox.ExchangeDeclaration;
import io.pgamqp.outbox.Settlement;
import io.pgamqp.outbox.TopologyDeclaration;
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
 * One live AMQP connection of a broker and the rows it was made from: opened with the broker's recorded exchange,
 * queue and binding declarations re-applied, watched for loss and for RabbitMQ flow control, closed without
 * blocking the actor.
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
      applyDeclarations(brokerId, deps, opened.connection());
      deps.store().clearWaiting(brokerId).toCompletableFuture().join();
      List<DestinationHolds.Hold> held = deps.store().heldDestinations(brokerId).toCompletableFuture().join();
      return new BrokerLink(config, opened, held);
    } catch (Exception | Error e) {
      closeQuietly(opened.connection());
      throw e;
    }
  }

  /**
   * Applies every recorded declaration but the failed ones and pending unbinds (BrokerCatalog says why) — exchanges,
   * then queues, then bindings, so that what a binding names exists — and records each outcome. Blocking.
   *
   * @throws IOException when the connection was lost meanwhile (after recording the outcomes known so far): the
   *     caller connects again, and what was not applied is applied then
   */
  private static void applyDeclarations(int brokerId, BrokerSupervisor.Deps deps, Connection connection)
      throws IOException {
    Map<String, ExchangeDeclaration> exchanges =
        deps.catalog().declarations(brokerId, null).toCompletableFuture().join();
    Map<Long, TopologyDeclaration> topology = deps.catalog().topology(brokerId, null).toCompletableFuture().join();
    List<Settlement.Declaration> exchangeOutcomes = new ArrayList<>(exchanges.size());
    List<Settlement.Topology> topologyOutcomes = new ArrayList<>(topology.size());
    String lost = null;
    try {
      for (ExchangeDeclaration d : exchanges.values()) {
        String error = TopologyDeclarer.declare(connection, d);
        exchangeOutcomes.add(new Settlement.Declaration(d.exchange(), error));
        if (error != null) {
          log.warn("broker {}: declaring exchange '{}' failed: {}", brokerId, d.exchange(), error);
        }
      }
      for (TopologyDeclaration d : topology.values()) {
        String error = TopologyDeclarer.declare(connection, d);
        topologyOutcomes.add(new Settlement.Topology(d.id(), error));
        if (error != null) {
          log.warn("broker {}: applying the {} failed: {}", brokerId, d.describe(), error);
        }
      }
    } catch (TopologyDeclarer.ConnectionLost e) {
      lost = e.getMessage();
    }
    deps.store().recordDeclarations(brokerId, exchangeOutcomes, topologyOutcomes).toCompletableFuture().join();
    if (lost != null) {
      throw new IOException("connection lost while applying the recorded declarations: " + lost);
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
    try {
      return TopologyDeclarer.declare(opened.connection(),
          new ExchangeDeclaration(exchange, "", true, false, false, null, null));
    } catch (TopologyDeclarer.ConnectionLost e) {
      return "connection lost while checking: " + e.getMessage(); // checked again on the next connection
    }
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
