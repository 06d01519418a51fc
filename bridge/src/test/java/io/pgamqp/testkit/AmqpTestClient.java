package io.pgamqp.testkit;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.Delivery;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The test's own AMQP connection to the test broker, for setting up exchanges and queues and reading back what the
 * bridge published. Everything it declares is deleted on {@link #close()}.
 *
 * <p>Threading: meant for the test's thread; methods are {@code synchronized}, so a stray call from another thread
 * is safe but waits. Checked AMQP failures are rethrown as {@link UncheckedIOException}.
 */
public final class AmqpTestClient implements AutoCloseable {

  /** After the expected number of messages arrived, how long {@link #drain} keeps listening for extras. */
  private static final Duration QUIET_PERIOD = Duration.ofMillis(300);

  private final Connection connection;
  private Channel channel;
  private final Set<String> queues = new LinkedHashSet<>();
  private final Set<String> exchanges = new LinkedHashSet<>();

  /** Connects to {@link TestServers#amqp()}. */
  public AmqpTestClient() {
    this(TestServers.get().amqp());
  }

  /** Connects to {@code endpoint}. */
  public AmqpTestClient(AmqpEndpoint endpoint) {
    try {
      this.connection = endpoint.connectionFactory().newConnection("pgamqp-test-client");
    } catch (IOException | TimeoutException e) {
      throw new IllegalStateException("test client cannot connect to " + endpoint, e);
    }
  }

  /** {@code prefix-<8 random hex digits>}: a name no other test (or earlier run) uses. */
  public String uniqueName(String prefix) {
    return prefix + "-" + String.format("%08x", ThreadLocalRandom.current().nextInt());
  }

  /** Declares a non-durable, non-auto-delete exchange of {@code type} (direct, fanout, topic, headers). */
  public synchronized void declareExchange(String name, String type) {
    run(() -> channel().exchangeDeclare(name, type, false, false, null));
    exchanges.add(name);
  }

  /** Declares a non-durable, non-exclusive, non-auto-delete queue. */
  public synchronized void declareQueue(String name) {
    run(() -> channel().queueDeclare(name, false, false, false, null));
    queues.add(name);
  }

  /** Binds {@code queue} to {@code exchange} with {@code routingKey}. */
  public synchronized void bind(String queue, String exchange, String routingKey) {
    run(() -> channel().queueBind(queue, exchange, routingKey));
  }

  /**
   * Consumes from {@code queue} (auto-ack) until {@code expected} messages arrived and then no more for a short
   * quiet period (so duplicates show up), or until {@code timeout}; returns everything that arrived, in order.
   * Fewer than {@code expected} means the timeout passed.
   */
  public synchronized List<Delivery> drain(String queue, int expected, Duration timeout) {
    LinkedBlockingQueue<Delivery> arrived = new LinkedBlockingQueue<>();
    List<Delivery> result = new ArrayList<>();
    Channel consumer = openChannel();
    try {
      String tag = consumer.basicConsume(queue, true, (consumerTag, delivery) -> arrived.add(delivery),
          consumerTag -> { });
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          break;
        }
        long wait = result.size() >= expected ? Math.min(left, QUIET_PERIOD.toNanos()) : left;
        Delivery next = arrived.poll(wait, TimeUnit.NANOSECONDS);
        if (next == null) {
          if (result.size() >= expected) {
            break; // quiet period passed
          }
          continue;
        }
        result.add(next);
      }
      consumer.basicCancel(tag); // returns after cancel-ok: nothing is delivered after this
      arrived.drainTo(result);
      return result;
    } catch (IOException e) {
      throw new UncheckedIOException("draining " + queue + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while draining " + queue, e);
    } finally {
      closeQuietly(consumer);
    }
  }

  /** Whether {@code name} exists, by a passive declare on a throwaway channel (a miss closes that channel). */
  public synchronized boolean exchangeExists(String name) {
    Channel probe = openChannel();
    try {
      probe.exchangeDeclarePassive(name);
      return true;
    } catch (IOException e) {
      return false; // 404 NOT_FOUND; the broker closed the probe channel
    } finally {
      closeQuietly(probe);
    }
  }

  /** Deletes an exchange (whoever declared it); a missing one is not an error. */
  public synchronized void deleteExchange(String name) {
    exchanges.remove(name);
    Channel throwaway = openChannel();
    try {
      throwaway.exchangeDelete(name);
    } catch (IOException e) {
      // Already gone (RabbitMQ accepts this; Qpid answers 404).
    } finally {
      closeQuietly(throwaway);
    }
  }

  /** The client's channel, for anything the helpers do not cover; reopened if a broker error closed it. */
  public synchronized Channel channel() {
    if (channel == null || !channel.isOpen()) {
      channel = openChannel();
    }
    return channel;
  }

  /** Deletes the queues, then the exchanges this client declared, and closes the connection. Idempotent. */
  @Override
  public synchronized void close() {
    if (!connection.isOpen()) {
      return;
    }
    try {
      for (String queue : queues) {
        Channel throwaway = openChannel();
        try {
          throwaway.queueDelete(queue);
        } catch (IOException ignored) {
          // Already deleted.
        } finally {
          closeQuietly(throwaway);
        }
      }
      for (String exchange : List.copyOf(exchanges)) {
        deleteExchange(exchange);
      }
    } catch (RuntimeException connectionLost) {
      // The broker went away mid-cleanup; a non-durable leftover disappears with a broker restart.
    }
    queues.clear();
    exchanges.clear();
    try {
      connection.close();
    } catch (IOException | RuntimeException ignored) {
      // The broker went away (a test may have stopped it); nothing left to clean up.
    }
  }

  private Channel openChannel() {
    try {
      Channel opened = connection.createChannel();
      if (opened == null) {
        throw new IllegalStateException("no free channel number");
      }
      return opened;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open a channel", e);
    }
  }

  private static void closeQuietly(Channel channel) {
    try {
      if (channel.isOpen()) {
        channel.close();
      }
    } catch (IOException | TimeoutException | RuntimeException ignored) {
      // Closed by the broker meanwhile.
    }
  }

  private interface AmqpCall {
    void run() throws IOException;
  }

  private static void run(AmqpCall call) {
    try {
      call.run();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
