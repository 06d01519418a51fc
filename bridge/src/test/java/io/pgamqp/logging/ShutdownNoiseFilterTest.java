package io.pgamqp.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.core.spi.FilterReply;
import org.junit.jupiter.api.Test;

class ShutdownNoiseFilterTest {
  private static final String TEARDOWN = "[outbound connection to [akka://pgamqp@127.0.0.1:25521], control stream]"
      + " Upstream failed, cause: StreamTcpException: The connection has been aborted";

  @Test
  void dropsOnlyRemotingTeardownWarningsAndOnlyWhileStopping() {
    LoggerContext context = new LoggerContext();
    Logger materializer = context.getLogger("akka.stream.Materializer");
    Logger other = context.getLogger("akka.remote.artery.Association");
    ShutdownNoiseFilter filter = new ShutdownNoiseFilter();
    // As Akka's SLF4J logger passes it: the text as the argument of "{}".
    Object[] args = {TEARDOWN};
    // Once stopping is set it stays set for the JVM, so the "before" case uses a fresh class state only if first.
    if (!stoppingAlready()) {
      assertEquals(FilterReply.NEUTRAL, filter.decide(null, materializer, Level.WARN, "{}", args, null),
          "in operation the same failure still logs");
    }
    ShutdownNoiseFilter.stopping();
    assertEquals(FilterReply.DENY, filter.decide(null, materializer, Level.WARN, "{}", args, null));
    assertEquals(FilterReply.DENY, filter.decide(null, materializer, Level.WARN, TEARDOWN, null, null));
    assertEquals(FilterReply.NEUTRAL, filter.decide(null, other, Level.WARN, "{}", args, null));
    assertEquals(FilterReply.NEUTRAL, filter.decide(null, materializer, Level.ERROR, "{}", args, null));
    assertEquals(FilterReply.NEUTRAL, filter.decide(null, materializer, Level.WARN, "{}",
        new Object[] {"[outbound connection to x] Upstream failed, cause: IllegalStateException"}, null));
  }

  @Test
  void dropsTheHandOffOfBufferedEnsuresOnlyWhileStopping() {
    LoggerContext context = new LoggerContext();
    Logger region = context.getLogger("akka.cluster.sharding.ShardRegion");
    Object[] handOff = {"broker: Dropping [1] buffered messages to shard [4] during hand off to avoid re-ordering"};
    if (!stoppingAlready()) {
      assertEquals(FilterReply.NEUTRAL, new ShutdownNoiseFilter().decide(null, region, Level.WARN, "{}", handOff,
          null), "in operation it still logs");
    }
    ShutdownNoiseFilter.stopping();
    ShutdownNoiseFilter filter = new ShutdownNoiseFilter();
    assertEquals(FilterReply.DENY, filter.decide(null, region, Level.WARN, "{}", handOff, null));
    assertEquals(FilterReply.NEUTRAL, filter.decide(null, region, Level.WARN, "{}",
        new Object[] {"broker: Shard [4] handoff timed out"}, null), "other sharding warnings still log");
    assertEquals(FilterReply.NEUTRAL, filter.decide(null, context.getLogger("akka.cluster.Cluster"), Level.WARN, "{}",
        handOff, null));
  }

  private static boolean stoppingAlready() {
    LoggerContext context = new LoggerContext();
    return new ShutdownNoiseFilter().decide(null, context.getLogger("akka.stream.Materializer"), Level.WARN, TEARDOWN,
        null, null) == FilterReply.DENY;
  }
}
