package io.pgamqp.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;

/**
 * Keeps two Akka warnings that are not trouble for this bridge from reading like trouble:
 * <ul>
 *   <li>when a node's actor system terminates, Akka's remoting aborts its outbound TCP streams to the other nodes and
 *       reports each as "[outbound connection to ...] Upstream failed, cause: StreamTcpException". Dropped, only while
 *       this process is stopping ({@link #stopping()}): the same failure during operation still logs.
 *   <li>when a shard is handed off (a node leaves, or a rebalance moves it), its shard region drops what it buffered
 *       for it ("Dropping [n] buffered messages to shard [s] during hand off to avoid re-ordering"). The only messages
 *       sent to shards are the registry's {@code BrokerEntity.Ensure}, which every node sends again each
 *       ensure-interval, so nothing is lost: it is logged again at INFO, saying so.
 * </ul>
 * Only those loggers and those lines; Akka's own association, quarantine and other sharding messages still log.
 */
public final class AkkaNoiseFilter extends TurboFilter {
  private static final org.slf4j.Logger HAND_OFF = LoggerFactory.getLogger("io.pgamqp.cluster.BrokerShards");

  // Process-wide, as the logging configuration is: set once by the bridge's coordinated shutdown, never reset.
  private static volatile boolean stopping;

  /** Called when the bridge starts to stop (the first phase of its coordinated shutdown). */
  public static void stopping() {
    stopping = true;
  }

  @Override
  public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    if (level != Level.WARN) {
      return FilterReply.NEUTRAL;
    }
    boolean remoting = stopping && "akka.stream.Materializer".equals(logger.getName());
    boolean sharding = "akka.cluster.sharding.ShardRegion".equals(logger.getName());
    if (!remoting && !sharding) {
      return FilterReply.NEUTRAL;
    }
    // Akka's SLF4J logger passes the formatted text as the format, or as the argument of "{}".
    String text = format == null ? "" : format;
    if (params != null && params.length > 0 && params[0] != null) {
      text = text + " " + params[0];
    }
    if (remoting) {
      return text.contains("[outbound connection to") && text.contains("StreamTcpException")
          ? FilterReply.DENY : FilterReply.NEUTRAL;
    }
    if (text.contains("buffered messages to shard") && text.contains("during hand off")) {
      HAND_OFF.info("{} (placement requests only: every node sends them again each ensure-interval)",
          text.replace("{}", "").trim());
      return FilterReply.DENY;
    }
    return FilterReply.NEUTRAL;
  }
}
