package io.pgamqp.bench;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.Delivery;
import java.io.IOException;
import java.time.Duration;
import java.util.BitSet;

/**
 * The one consumer both sides of a drain comparison are measured with: the same code, ack mode and prefetch, so that
 * the consumer cannot decide a comparison (an auto-ack consumer against an acking one did, once: 1.37x became 0.6-0.9x
 * like for like). Manual ack = one {@code basicAck} per message, as PerfTest's consumer does by default. The rate runs
 * from the first delivery to the last, leaving out whatever happened before the first message (a producer's or the
 * bridge's start). Deliveries with a numeric message-id (the bridge's outbox ids) are checked for duplicates.
 */
final class DrainConsumer implements AutoCloseable {
  static final int PREFETCH = 1000;

  private final Channel channel;
  private final boolean autoAck;
  private final BitSet seen = new BitSet();
  private long received;
  private long duplicates;
  private long firstNanos;
  private long lastNanos;

  private DrainConsumer(Channel channel, boolean autoAck) {
    this.channel = channel;
    this.autoAck = autoAck;
  }

  static DrainConsumer start(Connection connection, String queue, boolean autoAck) throws IOException {
    Channel ch = connection.createChannel();
    ch.basicQos(PREFETCH);
    DrainConsumer c = new DrainConsumer(ch, autoAck);
    ch.basicConsume(queue, autoAck, (tag, d) -> c.record(d), tag -> { });
    return c;
  }

  private void record(Delivery d) throws IOException {
    String id = d.getProperties().getMessageId();
    synchronized (this) {
      long now = System.nanoTime();
      if (received == 0) {
        firstNanos = now;
      }
      lastNanos = now;
      if (id != null && id.chars().allMatch(Character::isDigit)) {
        int n = Integer.parseInt(id);
        if (seen.get(n)) {
          duplicates++;
        } else {
          seen.set(n);
          received++;
        }
      } else {
        received++;
      }
    }
    if (!autoAck) {
      channel.basicAck(d.getEnvelope().getDeliveryTag(), false);
    }
  }

  synchronized long received() {
    return received;
  }

  /** System.nanoTime of the first delivery, 0 before it. */
  synchronized long firstNanos() {
    return firstNanos;
  }

  synchronized long duplicates() {
    return duplicates;
  }

  /** Distinct messages per second from the first delivery to the last. */
  synchronized double rate() {
    return received > 1 ? (received - 1) / ((lastNanos - firstNanos) / 1e9) : 0;
  }

  /** Waits until {@code n} distinct messages arrived or nothing arrived for {@code stall}; false on a stall. */
  boolean await(long n, Duration stall) throws InterruptedException {
    long lastCount = -1;
    long lastChange = System.nanoTime();
    while (received() < n) {
      long r = received();
      if (r != lastCount) {
        lastCount = r;
        lastChange = System.nanoTime();
      } else if (System.nanoTime() - lastChange > stall.toNanos()) {
        return false;
      }
      Thread.sleep(5);
    }
    return true;
  }

  @Override
  public void close() throws Exception {
    if (channel.isOpen()) {
      channel.close();
    }
  }
}
