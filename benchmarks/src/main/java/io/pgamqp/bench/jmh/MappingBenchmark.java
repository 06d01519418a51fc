package io.pgamqp.bench.jmh;

import com.rabbitmq.client.AMQP;
import io.pgamqp.broker.ConfirmingPublisher;
import io.pgamqp.outbox.OutboxRow;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/** Mapping one claimed outbox row to the AMQP properties and body the bridge publishes. CPU only. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx512m")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@State(Scope.Thread)
public class MappingBenchmark {
  @Param({"256", "4096"})
  public int bodyBytes;

  private OutboxRow row;

  @Setup
  public void setUp() {
    row = new OutboxRow(123_456_789L, 987_654L, OutboxRow.PUBLISH, "pgamqp.bench", "orders.created",
        "x".repeat(bodyBytes), 2, "application/json", null, "corr-1", "123456789", System.currentTimeMillis(), 0);
  }

  @Benchmark
  public AMQP.BasicProperties properties() {
    return ConfirmingPublisher.properties(row);
  }

  @Benchmark
  public byte[] body() {
    return ConfirmingPublisher.body(row);
  }

  @Benchmark
  public void propertiesAndBody(Blackhole bh) {
    bh.consume(ConfirmingPublisher.properties(row));
    bh.consume(ConfirmingPublisher.body(row));
  }
}
