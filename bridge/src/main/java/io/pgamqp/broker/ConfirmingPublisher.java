package io.pgamqp.broker;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.AlreadyClosedException;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConfirmListener;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ShutdownSignalException;
import io.pgamqp.outbox.DestinationHolds;
import io.pgamqp.outbox.ExchangeDeclaration;
import io.pgamqp.outbox.OutboxBatch;
import io.pgamqp.outbox.OutboxRow;
import io.pgamqp.outbox.TopologyDeclaration;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Publishes outbox batches on one AMQP channel in confirm mode and reports, per row, what the broker said.
 *
 * <p>Why not Alpakka's {@code AmqpFlow.withConfirm} (4.0.0): it reports a confirm timeout as a rejection (a retry
 * then duplicates a message that was in fact delivered late), defaults to a 10-message buffer and a 100 ms timeout,
 * cannot publish {@code mandatory} with a return listener (RabbitMQ acks a returned message, so an unroutable message
 * would count as sent: silent loss), and cannot tell which message closed the channel. This class keeps what matters
 * from that design — many messages in flight, {@code multiple=true} acks — and adds the rest. Connections still come
 * from Alpakka's connection provider ({@link AmqpConnector}).
 *
 * <p>Threading: {@link #publish} is called by one stream stage at a time (on the AMQP dispatcher); confirms, returns
 * and channel shutdown arrive on the client's connection thread. The only shared state is the concurrent maps of
 * pending messages; each pending message is settled exactly once, by whoever removes it from {@link #pending}.
 */
public final class ConfirmingPublisher implements AutoCloseable {

  /** What became of one row. */
  public enum Outcome {
    CONFIRMED, RETURNED, NACKED, TIMED_OUT, FAILED, NOT_SENT, DECLARED, DECLARE_FAILED,
    /** Never sent: the bridge cannot encode it (its stored headers); dead-lettered at once. */
    UNSENDABLE,
    /** Not sent (or refused): its destination is held; the row stays in the outbox, untouched. */
    HELD,
    /** Not sent: its destination has been held for longer than hold-timeout; dead-lettered. */
    HOLD_EXPIRED
  }

  /** A batch and, per row (same index), its outcome and the reason when not confirmed. Immutable once completed. */
  public record Published(OutboxBatch batch, Outcome[] outcomes, String[] reasons) {}

  // A missing exchange as RabbitMQ ("NOT_FOUND - no exchange 'x' in vhost '/'") and Qpid Broker-J ("Unknown exchange
  // name: 'x'") say it.
  private static final Pattern NO_EXCHANGE =
      Pattern.compile("no exchange '(.*)' in vhost|Unknown exchange name: '(.*)'");

  private final Channel channel;
  private final Connection connection;
  private final Duration confirmTimeout;
  private final DestinationHolds holds;
  private final ConcurrentSkipListMap<Long, Pending> pending = new ConcurrentSkipListMap<>();
  // For basic.return, which names a message only by its properties. Message ids may repeat (a producer's own
  // message_id): messages with one id chain in publish order (Pending.sameId), the order their returns come in.
  private final ConcurrentHashMap<String, Pending> byMessageId = new ConcurrentHashMap<>();
  private final FlowControl flow;
  private volatile String closedReason;

  /**
   * RabbitMQ's flow control as the connection reported it ({@code connection.blocked} / {@code unblocked}): while a
   * connection is blocked the broker reads nothing from it, so confirms cannot come, and a confirm timeout must not
   * fire for that reason (a timeout means a retry, and a retry of a message the broker will accept once unblocked
   * is a duplicate). One per connection, shared by the publishers on it; thread-safe.
   */
  public static final class FlowControl {
    private volatile boolean blocked;
    private volatile long unblockedAtNanos = Long.MIN_VALUE;

    /** {@code connection.blocked}: publishing pauses. */
    public void blocked() {
      blocked = true;
    }

    /** {@code connection.unblocked}: publishing resumes; confirm-timeout clocks restart from now. */
    public void unblocked() {
      unblockedAtNanos = System.nanoTime();
      blocked = false;
    }

    public boolean isBlocked() {
      return blocked;
    }

    long unblockedAtNanos() {
      return unblockedAtNanos;
    }
  }

  // One daemon timer for every publisher's confirm timeouts. Cancelled tasks are removed at once: a pending timeout
  // must not keep a settled batch (rows, bodies, outcomes) reachable for confirm-timeout — at 10k msg/s and 30 s that
  // was ~180 MB, and a -Xmx128m bridge ran out of heap.
  private static final ScheduledThreadPoolExecutor TIMER = new ScheduledThreadPoolExecutor(1, r -> {
    Thread t = new Thread(r, "pgamqp-confirm-timeout");
    t.setDaemon(true);
    return t;
  });

  static {
    TIMER.setRemoveOnCancelPolicy(true);
  }

  private ConfirmingPublisher(Connection connection, Channel channel, Duration confirmTimeout, FlowControl flow,
      DestinationHolds holds) {
    this.connection = connection;
    this.channel = channel;
    this.confirmTimeout = confirmTimeout;
    this.flow = flow;
    this.holds = holds;
  }

  /** Runs {@code task} after the delay on the confirm-timeout timer; the returned future cancels it. */
  private static Future<?> schedule(Runnable task, long delayNanos) {
    return TIMER.schedule(task, Math.max(1, delayNanos), TimeUnit.NANOSECONDS);
  }

  /** Opens a confirm-mode channel on {@code connection}. Blocking: call on the blocking dispatcher. */
  public static ConfirmingPublisher open(Connection connection, Duration confirmTimeout) throws IOException {
    return open(connection, confirmTimeout, new FlowControl());
  }

  /** With holds of its own that nobody checks or lifts (tests and benchmarks of this class alone). */
  public static ConfirmingPublisher open(Connection connection, Duration confirmTimeout, FlowControl flow)
      throws IOException {
    return open(connection, confirmTimeout, flow, new DestinationHolds(() -> { }, new DestinationHolds.Listener() {
      @Override
      public void held(DestinationHolds.Hold hold) {}

      @Override
      public void lifted(DestinationHolds.Hold hold, String why) {}
    }, false));
  }

  /**
   * Opens a confirm-mode channel on {@code connection}, whose flow-control state {@code flow} reports (the caller
   * registers the connection's {@code BlockedListener}). Blocking: call on the blocking dispatcher.
   */
  public static ConfirmingPublisher open(Connection connection, Duration confirmTimeout, FlowControl flow,
      DestinationHolds holds) throws IOException {
    Channel channel = connection.createChannel();
    ConfirmingPublisher p = new ConfirmingPublisher(connection, channel, confirmTimeout, flow, holds);
    channel.confirmSelect();
    channel.addConfirmListener(new ConfirmListener() {
      @Override
      public void handleAck(long seq, boolean multiple) {
        p.confirmed(seq, multiple, true);
      }

      @Override
      public void handleNack(long seq, boolean multiple) {
        p.confirmed(seq, multiple, false);
      }
    });
    // RabbitMQ sends basic.return before the ack of a mandatory message it could not route.
    channel.addReturnListener(r -> {
      String why = "unroutable: exchange '" + r.getExchange() + "' has no binding for routing key '"
          + r.getRoutingKey() + "' (" + r.getReplyCode() + " " + r.getReplyText() + ")";
      p.byMessageId.computeIfPresent(String.valueOf(r.getProperties().getMessageId()), (id, head) -> {
        for (Pending q = head; q != null; q = q.sameId) {
          if (q.returned == null) {
            q.returned = why;
            break;
          }
        }
        return head;
      });
    });
    channel.addShutdownListener(p::channelClosed);
    return p;
  }

  /**
   * Publishes {@code batch} (and applies its declarations, in order); completes when every row has an outcome.
   * Never fails: problems become outcomes.
   */
  public CompletionStage<Published> publish(OutboxBatch batch, Map<String, ExchangeDeclaration> declarations) {
    return publish(batch, declarations, Map.of());
  }

  /**
   * Publishes {@code batch} (and applies its exchange declarations and its queue and binding declarations, looked up
   * by {@link OutboxRow#topologyId}, in order); completes when every row has an outcome. Never fails.
   */
  public CompletionStage<Published> publish(OutboxBatch batch, Map<String, ExchangeDeclaration> declarations,
      Map<Long, TopologyDeclaration> topology) {
    Tracker t = new Tracker(batch);
    int n = batch.size();
    for (int i = 0; i < n; i++) {
      OutboxRow row = batch.rows().get(i);
      if (row.isTopology()) {
        declare(t, i, topology.get(row.topologyId()));
        continue;
      }
      if (row.isDeclaration()) {
        declare(t, i, declarations.get(row.exchange()));
        continue;
      }
      DestinationHolds.Hold hold = holds.get(row.exchange());
      if (hold != null) {
        t.settle(i, hold.expired() ? Outcome.HOLD_EXPIRED : Outcome.HELD, heldReason(hold));
        continue;
      }
      String unsendable = row.fields().headersError();
      if (unsendable != null) {
        t.settle(i, Outcome.UNSENDABLE, "cannot be sent as AMQP: " + unsendable);
        continue;
      }
      String closed = closedReason;
      if (closed != null) {
        t.settle(i, Outcome.NOT_SENT, "channel closed before sending: " + closed);
        continue;
      }
      long seq = channel.getNextPublishSeqNo();
      Pending p = new Pending(t, i, row.messageId(), row.exchange());
      t.seqs[i] = seq;
      pending.put(seq, p);
      byMessageId.compute(row.messageId(), (id, head) -> {
        if (head == null) {
          return p;
        }
        Pending last = head;
        while (last.sameId != null) {
          last = last.sameId;
        }
        last.sameId = p;
        return head;
      });
      try {
        channel.basicPublish(row.exchange(), row.routingKey(), true, properties(row), body(row));
      } catch (IOException | AlreadyClosedException e) {
        if (pending.remove(seq) != null) {
          settle(p, Outcome.NOT_SENT, "could not send: " + e.getMessage());
        }
      }
    }
    t.publishedAtNanos = System.nanoTime();
    t.published();
    if (!t.done.isDone()) {
      t.timer = schedule(() -> timeout(t), confirmTimeout.toNanos());
      t.done.whenComplete((r, e) -> t.timer.cancel(false));
    }
    return t.done;
  }

  /** One recorded declaration, applied on its own channel (blocking). */
  private interface Declaration {
    String apply() throws TopologyDeclarer.ConnectionLost;
  }

  private void declare(Tracker t, int i, ExchangeDeclaration d) {
    // null: replaced or removed (exchange_undeclare) since it was queued; the current one was applied at connect.
    declare(t, i, d == null ? null : () -> {
      String error = TopologyDeclarer.declare(connection, d);
      if (error == null) {
        holds.lift(d.exchange(), "amqp.exchange_declare applied");
      } else if (ErrorText.isNotFound(error)) {
        holds.hold(d.exchange(), error); // a passive check found it missing: its messages would all be refused
      }
      return error;
    });
  }

  private void declare(Tracker t, int i, TopologyDeclaration d) {
    // null: gone since it was queued (an earlier outbox row applied the same unbind), nothing to apply.
    declare(t, i, d == null ? null : () -> TopologyDeclarer.declare(connection, d));
  }

  private void declare(Tracker t, int i, Declaration d) {
    if (d == null) {
      t.settle(i, Outcome.DECLARED, null);
      return;
    }
    try {
      String error = d.apply();
      t.settle(i, error == null ? Outcome.DECLARED : Outcome.DECLARE_FAILED, error);
    } catch (TopologyDeclarer.ConnectionLost e) {
      // Not the declaration's fault: the row stays and is applied again, in order, on the next connection.
      t.settle(i, Outcome.NOT_SENT, "connection lost while declaring: " + e.getMessage());
    }
  }

  /** A dead letter's or a log line's words for a message of a held destination. */
  static String heldReason(DestinationHolds.Hold hold) {
    return "exchange '" + hold.exchange() + "' held since " + hold.since() + (hold.expired() ? " (longer than"
        + " hold-timeout)" : "") + ": " + hold.lastError();
  }

  /** The AMQP properties of a message row (public for the JMH benchmark of this mapping). */
  public static AMQP.BasicProperties properties(OutboxRow row) {
    AMQP.BasicProperties.Builder b = new AMQP.BasicProperties.Builder()
        .deliveryMode(row.deliveryMode() == 1 ? 1 : 2)
        .contentType(row.contentType())
        .replyTo(row.replyTo())
        .correlationId(row.correlationId())
        .messageId(row.messageId())
        .timestamp(new Date(row.createdAtMillis()));
    OutboxRow.Fields f = row.fields();
    if (f != OutboxRow.Fields.NONE) {
      b.headers(f.headers())
          .type(f.type())
          .appId(f.appId())
          .expiration(f.expirationMs() == null ? null : Long.toString(f.expirationMs()))
          .priority(f.priority())
          .contentEncoding(f.contentEncoding());
    }
    return b.build();
  }

  /** The body bytes of a message row: its bytes as queued, or its text as UTF-8. */
  public static byte[] body(OutboxRow row) {
    if (row.bodyBytes() != null) {
      return row.bodyBytes();
    }
    return row.body() == null ? new byte[0] : row.body().getBytes(StandardCharsets.UTF_8);
  }

  private void confirmed(long seq, boolean multiple, boolean ack) {
    if (multiple) {
      ConcurrentNavigableMap<Long, Pending> head = pending.headMap(seq, true);
      for (Long s : head.keySet()) {
        Pending p = pending.remove(s);
        if (p != null) {
          settleConfirm(p, ack);
        }
      }
    } else {
      Pending p = pending.remove(seq);
      if (p != null) {
        settleConfirm(p, ack);
      }
    }
  }

  private void settleConfirm(Pending p, boolean ack) {
    String returned = p.returned;
    if (returned != null) {
      settle(p, Outcome.RETURNED, returned); // acked or (Qpid) nacked: either way it reached no queue
    } else if (ack) {
      settle(p, Outcome.CONFIRMED, null);
    } else {
      settle(p, Outcome.NACKED, "the broker rejected the message (basic.nack)");
    }
  }

  /**
   * The confirm timeout of batch {@code t} fired. The clock does not run while the connection is blocked by flow
   * control, and restarts when it is unblocked: a blocked period never turns into timeouts, retries and duplicates.
   */
  void timeout(Tracker t) {
    if (t.done.isDone()) {
      return;
    }
    if (flow.isBlocked()) {
      t.timer = schedule(() -> timeout(t), confirmTimeout.toNanos()); // look again; unblocking restarts it
      return;
    }
    long start = Math.max(t.publishedAtNanos, flow.unblockedAtNanos());
    long left = start + confirmTimeout.toNanos() - System.nanoTime();
    if (left > 0) {
      t.timer = schedule(() -> timeout(t), left);
      return;
    }
    for (int i = 0; i < t.seqs.length; i++) {
      long seq = t.seqs[i];
      if (seq != 0) {
        Pending p = pending.remove(seq);
        if (p != null) {
          settle(p, Outcome.TIMED_OUT, "no publisher confirm within " + confirmTimeout.toMillis() + " ms");
        }
      }
    }
  }

  /**
   * A channel-level error is blamed on the one message that caused it, except a missing exchange (404): that belongs
   * to the destination, which is held, so that its messages are passed over instead of closing the channel one by
   * one; every message to it still pending is held with it.
   */
  private void channelClosed(ShutdownSignalException cause) {
    String reason = ErrorText.of(cause);
    closedReason = reason;
    Long culprit = null;
    String missing = null;
    if (!cause.isHardError() && !cause.isInitiatedByApplication()) {
      Matcher m = NO_EXCHANGE.matcher(reason);
      String exchange = m.find() ? (m.group(1) != null ? m.group(1) : m.group(2)) : null;
      for (Map.Entry<Long, Pending> e : pending.entrySet()) {
        if (exchange == null || exchange.equals(e.getValue().exchange)) {
          culprit = e.getKey();
          break;
        }
      }
      if (exchange != null && culprit != null) {
        missing = exchange;
        holds.hold(exchange, reason);
      }
    }
    DestinationHolds.Hold hold = missing == null ? null : holds.get(missing);
    for (Long seq : pending.keySet()) {
      Pending p = pending.remove(seq);
      if (p != null) {
        if (hold != null && hold.exchange().equals(p.exchange)) {
          settle(p, hold.expired() ? Outcome.HOLD_EXPIRED : Outcome.HELD, heldReason(hold));
        } else if (seq.equals(culprit)) {
          settle(p, Outcome.FAILED, reason);
        } else {
          settle(p, Outcome.NOT_SENT, "channel closed before the confirm: " + reason);
        }
      }
    }
  }

  private void settle(Pending p, Outcome outcome, String reason) {
    byMessageId.computeIfPresent(p.messageId, (id, head) -> {
      if (head == p) {
        return p.sameId;
      }
      for (Pending q = head; q.sameId != null; q = q.sameId) {
        if (q.sameId == p) {
          q.sameId = p.sameId;
          break;
        }
      }
      return head;
    });
    p.tracker.settle(p.index, outcome, reason);
  }

  @Override
  public void close() {
    try {
      if (channel.isOpen()) {
        channel.close();
      }
    } catch (IOException | ShutdownSignalException | TimeoutException ignored) {
      // ShutdownSignalException (AlreadyClosedException among them): the connection died while closing, e.g.
      // heartbeats gave up on a black-holed link.
      // closing anyway: the connection's state is the supervisor's concern
    }
  }

  private static final class Pending {
    final Tracker tracker;
    final int index;
    final String messageId;
    final String exchange;
    volatile String returned;
    Pending sameId; // the next pending message with this message id; written only inside byMessageId's compute

    Pending(Tracker tracker, int index, String messageId, String exchange) {
      this.tracker = tracker;
      this.index = index;
      this.messageId = messageId;
      this.exchange = exchange;
    }
  }

  /** Collects one batch's outcomes; completes {@link #done} when all rows are settled and the batch was sent. */
  static final class Tracker {
    final OutboxBatch batch;
    volatile long publishedAtNanos;
    volatile Future<?> timer; // the pending confirm timeout, cancelled when the batch completes
    final Outcome[] outcomes;
    final String[] reasons;
    final long[] seqs;
    // One extra count for "still publishing", so the batch cannot complete while publish() runs.
    final AtomicInteger remaining;
    final CompletableFuture<Published> done = new CompletableFuture<>();

    Tracker(OutboxBatch batch) {
      this.batch = batch;
      int n = batch.size();
      this.outcomes = new Outcome[n];
      this.reasons = new String[n];
      this.seqs = new long[n];
      this.remaining = new AtomicInteger(n + 1);
    }

    void settle(int i, Outcome outcome, String reason) {
      outcomes[i] = outcome;
      reasons[i] = reason;
      countDown();
    }

    void published() {
      countDown();
    }

    private void countDown() {
      if (remaining.decrementAndGet() == 0) {
        done.complete(new Published(batch, outcomes, reasons)); // completion publishes the arrays safely
      }
    }
  }
}
