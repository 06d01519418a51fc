package io.pgamqp.logging;

import ch.qos.logback.classic.pattern.MessageConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;

/**
 * Logback's {@code %msg} with control characters escaped ({@link LogText#escape}): whatever a message carries from
 * the database or a broker (exchange names, error texts), it stays on its own line. The bridge's logback.xml and
 * config/logback.xml map {@code %msg} to it; stack traces ({@code %ex}) keep their lines.
 */
public final class EscapingMessageConverter extends MessageConverter {
  @Override
  public String convert(ILoggingEvent event) {
    return LogText.escape(super.convert(event));
  }
}
