package io.pgamqp.outbox;

import java.sql.SQLException;

/** A database call failed; wraps the {@link SQLException} so it can cross Slick's Scala futures. */
public final class OutboxException extends RuntimeException {
  public OutboxException(SQLException cause) {
    super(cause.getMessage(), cause);
  }
}
