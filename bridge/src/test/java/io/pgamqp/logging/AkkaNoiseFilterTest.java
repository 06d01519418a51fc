package io.pgamqp.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import ch.qos.logback.core.spi.FilterReply;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class AkkaNoiseFilterTest {
  private static final String TEARDOWN = "[outbound connection to [akka://pgamqp@127.0.0.1:25521], control stream]"
      + " Upstream failed, cause: StreamTcpException: The connection has been aborted";

  @Test
  void dropsOnlyRemotingTeardownWarningsAndOnlyWhileStopping() {
    LoggerContext context = new LoggerContext();
    Logger materializer = context.getLogger("akka.stream.Materializer");
    Logger other = context.getLogger("akka.remote.artery.Association");
    AkkaNoiseFilter filter = new AkkaNoiseFilter();
    // As Akka's SLF4J logger passes it: the text as the argument of "{}".
    Object[] args = {TEARDOWN};
    // Once stopping is set it stays set for the JVM, so the "before" case uses a fresh class state only if first.
    if (!stoppingAlready()) {
      assertEquals(FilterReply.NEUTRAL, filter.decide(null, materializer, Level.WARN, "{}", args, null),
          "in operation the same failure still logs");
    }
    AkkaNoiseFilter.stopping();
    assertEquals(FilterReply.DENY, filter.decide(null, materializer, Level.WARN, "{}", args, null));
    assertEquals(FilterReply.DENY, filter.decide(null, materializer, Level.WARN, TEARDOWN, null, null));
    assertEquals(FilterReply.NEUTRAL, filter.decide(null, other, Level.WARN, "{}", args, null));
    assertEquals(FilterReply.NEUTRAL, filter.decide(null, materializer, Level.ERROR, "{}", args, null));
    assertEquals(FilterReply.NEUTRAL, filter.decide(null, materializer, Level.WARN, "{}",
        new Object[] {"[outbound connection to x] Upstream failed, cause: IllegalStateException"}, null));
  }

  @Test
  void logsTheHandOffOfBufferedEnsuresAtInfoInOperationAndWhileStopping() {
    LoggerContext context = new LoggerContext();
    Logger region = context.getLogger("akka.cluster.sharding.ShardRegion");
    String handOff = "broker: Dropping [1] buffered messages to shard [4] during hand off to avoid re-ordering";
    AkkaNoiseFilter filter = new AkkaNoiseFilter();
    // Both ways Akka's SLF4J logger passes a text: as the format, or as the argument of "{}".
    assertEquals(FilterReply.DENY, filter.decide(null, region, Level.WARN, handOff, null, null));
    assertEquals(FilterReply.DENY, filter.decide(null, region, Level.WARN, "{}", new Object[] {handOff}, null));
    AkkaNoiseFilter.stopping();
    assertEquals(FilterReply.DENY, filter.decide(null, region, Level.WARN, handOff, null, null));
    assertEquals(FilterReply.NEUTRAL, filter.decide(null, region, Level.WARN, "broker: Shard [4] handoff timed out",
        null, null), "other sharding warnings still log");
    assertEquals(FilterReply.NEUTRAL, filter.decide(null, context.getLogger("akka.cluster.Cluster"), Level.WARN,
        handOff, null, null));
  }

  @Test
  void theHandOffLineIsLoggedAgainAtInfo() {
    LoggerContext global = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger shards = global.getLogger("io.pgamqp.cluster.BrokerShards");
    ListAppender<ILoggingEvent> seen = new ListAppender<>();
    seen.start();
    shards.addAppender(seen);
    try {
      new AkkaNoiseFilter().decide(null, new LoggerContext().getLogger("akka.cluster.sharding.ShardRegion"),
          Level.WARN, "broker: Dropping [2] buffered messages to shard [7] during hand off to avoid re-ordering",
          null, null);
      assertEquals(1, seen.list.size());
      assertEquals(Level.INFO, seen.list.get(0).getLevel());
      assertTrue(seen.list.get(0).getFormattedMessage().contains("Dropping [2] buffered messages to shard [7]"),
          seen.list.get(0).getFormattedMessage());
    } finally {
      shards.detachAppender(seen);
    }
  }

  private static boolean stoppingAlready() {
    LoggerContext context = new LoggerContext();
    return new AkkaNoiseFilter().decide(null, context.getLogger("akka.stream.Materializer"), Level.WARN, TEARDOWN,
        null, null) == FilterReply.DENY;
  }
}
