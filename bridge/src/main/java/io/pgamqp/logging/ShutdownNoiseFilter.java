package io.pgamqp.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import org.slf4j.Marker;

/**
 * Drops the one warning a clean cluster stop makes by itself: when a node's actor system terminates, Akka's remoting
 * aborts its outbound TCP streams to the other nodes and reports each as "[outbound connection to ...] Upstream
 * failed, cause: StreamTcpException" at WARN, which reads like trouble on every graceful stop. Only while this process
 * is stopping ({@link #stopping()}), only that logger and those lines: the same failure during operation still logs,
 * and so do Akka's own association and quarantine messages.
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
    if (!stopping || level != Level.WARN || !"akka.stream.Materializer".equals(logger.getName())) {
      return FilterReply.NEUTRAL;
    }
    // Akka's SLF4J logger passes its text as the argument of a "{}" pattern.
    String text = format == null ? "" : format;
    if (params != null && params.length > 0 && params[0] != null) {
      text = text + " " + params[0];
    }
    return text.contains("[outbound connection to") && text.contains("StreamTcpException")
        ? FilterReply.DENY : FilterReply.NEUTRAL;
  }
}
