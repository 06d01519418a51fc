package io.pgamqp.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import org.slf4j.Marker;

/**
 * Drops the warnings a clean cluster stop makes by itself, which read like trouble on every graceful stop:
 * <ul>
 *   <li>when a node's actor system terminates, Akka's remoting aborts its outbound TCP streams to the other nodes and
 *       reports each as "[outbound connection to ...] Upstream failed, cause: StreamTcpException";
 *   <li>while the stopping node hands its shards over, its shard region drops what it buffered for them ("Dropping [n]
 *       buffered messages to shard [s] during hand off to avoid re-ordering"): the only messages sent to shards are
 *       the registry's {@code BrokerEntity.Ensure}, which it sends again every ensure-interval from every node.
 * </ul>
 * Only while this process is stopping ({@link #stopping()}), only those loggers and those lines: the same failures
 * during operation still log, and so do Akka's own association and quarantine messages.
 */
public final class ShutdownNoiseFilter extends TurboFilter {
  // Process-wide, as the logging configuration is: set once by the bridge's coordinated shutdown, never reset.
  private static volatile boolean stopping;

  /** Called when the bridge starts to stop (the first phase of its coordinated shutdown). */
  public static void stopping() {
    stopping = true;
  }

  @Override
  public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    if (!stopping || level != Level.WARN) {
      return FilterReply.NEUTRAL;
    }
    boolean remoting = "akka.stream.Materializer".equals(logger.getName());
    boolean sharding = "akka.cluster.sharding.ShardRegion".equals(logger.getName());
    if (!remoting && !sharding) {
      return FilterReply.NEUTRAL;
    }
    // Akka's SLF4J logger passes its text as the argument of a "{}" pattern.
    String text = format == null ? "" : format;
    if (params != null && params.length > 0 && params[0] != null) {
      text = text + " " + params[0];
    }
    boolean noise = remoting
        ? text.contains("[outbound connection to") && text.contains("StreamTcpException")
        : text.contains("buffered messages to shard") && text.contains("during hand off");
    return noise ? FilterReply.DENY : FilterReply.NEUTRAL;
  }
}
