package io.pgamqp.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Set;
import org.junit.jupiter.api.Test;

class PromQlTest {

  @Test
  void findsTheSelectedMetricsOnly() {
    assertEquals(Set.of("pgamqp_batch_confirm_latency_seconds_bucket"), PromQl.metricNames(
        "histogram_quantile(0.99, sum by (broker, le) (rate(pgamqp_batch_confirm_latency_seconds_bucket"
            + "{broker=~\"$broker\"}[$__rate_interval])))"));
    assertEquals(Set.of("pgamqp_broker_owned", "pgamqp_broker_connected"), PromQl.metricNames(
        "(pgamqp_broker_owned == 1) and on (broker, instance) (pgamqp_broker_connected == 0)"));
    assertEquals(Set.of("pgamqp_broker_owned"), PromQl.metricNames(
        "count(sum by (broker) (pgamqp_broker_owned{broker=~\"$broker\"}) == 0) or vector(0)"));
    assertEquals(Set.of("jvm_memory_used_bytes"), PromQl.metricNames(
        "sum by (instance) (jvm_memory_used_bytes{area=\"heap\"}) offset 5m > 1e9"));
    assertEquals(Set.of("pgamqp_outbox_oldest_age_seconds"), PromQl.metricNames(
        "absent(pgamqp_outbox_oldest_age_seconds)"));
  }

  @Test
  void readsTheMetricOfAGrafanaLabelValuesQuery() {
    assertEquals(Set.of("pgamqp_broker_owned"), PromQl.metricNames("label_values(pgamqp_broker_owned, broker)"));
  }
}
