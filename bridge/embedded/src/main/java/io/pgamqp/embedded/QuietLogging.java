package io.pgamqp.embedded;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import org.slf4j.LoggerFactory;

/**
 * Keeps the embedded servers' chatter (Qpid logs every connection and channel at INFO, zonky echoes the postmaster's
 * output at INFO) out of our log unless the user asked for it: a logger's level is lowered to WARN only when the
 * logging configuration did not set one for it explicitly. Only these loggers are touched; appenders and the root
 * logger stay as configured. Does nothing when Logback is not the SLF4J backend.
 */
final class QuietLogging {

  private QuietLogging() {
  }

  static void warnUnlessConfigured(String... loggerNames) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return;
    }
    for (String name : loggerNames) {
      Logger logger = context.getLogger(name);
      if (logger.getLevel() == null) {
        logger.setLevel(Level.WARN);
      }
    }
  }
}
