package io.pgamqp.bench.jmh;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.pgamqp.broker.ConfirmingPublisher;
import io.pgamqp.outbox.OutboxBatch;
import io.pgamqp.outbox.OutboxRow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The publish stage against the real RabbitMQ: {@link ConfirmingPublisher#publish} of one batch of 256-byte rows into
 * a bound queue (capped by x-max-length so it never grows), completing when every message is confirmed. One batch in
 * flight at a time: the latency of a batch, not the pipelined throughput (the end-to-end drain measures that).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx512m")
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
@State(Scope.Benchmark)
public class PublishBenchmark {
  @Param({"250"})
  public int batch;

  @Param({"2", "1"})
  public int deliveryMode;

  private Connection connection;
  private ConfirmingPublisher publisher;
  private String exchange;
  private String queue;
  private long nextId = 1;
  private String body;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    ConnectionFactory cf = new ConnectionFactory();
    cf.setHost(BenchEnv.AMQP_HOST);
    cf.setPort(BenchEnv.AMQP_PORT);
    connection = cf.newConnection("pgamqp jmh publish");
    exchange = "pgamqp.jmh." + Long.toHexString(System.nanoTime());
    queue = exchange + ".q";
    try (Channel ch = connection.createChannel()) {
      ch.exchangeDeclare(exchange, "direct", false, true, null);
      ch.queueDeclare(queue, true, false, false, Map.of("x-max-length", 20_000));
      ch.queueBind(queue, exchange, "k");
    }
    publisher = ConfirmingPublisher.open(connection, Duration.ofSeconds(30));
    body = "x".repeat(256);
  }

  @Benchmark
  public ConfirmingPublisher.Published publishBatchAndAwaitConfirms() {
    List<OutboxRow> rows = new ArrayList<>(batch);
    long now = System.currentTimeMillis();
    for (int i = 0; i < batch; i++) {
      long id = nextId++;
      rows.add(new OutboxRow(id, 1, OutboxRow.PUBLISH, exchange, "k", body, deliveryMode, null, null, null,
          Long.toString(id), now, 0));
    }
    return publisher.publish(new OutboxBatch(rows), Map.of()).toCompletableFuture().join();
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    publisher.close();
    try (Channel ch = connection.createChannel()) {
      ch.queueDelete(queue);
      ch.exchangeDelete(exchange);
    }
    connection.close();
  }
}
