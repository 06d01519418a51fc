package io.pgamqp.broker;

import io.pgamqp.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Publishing through {@code amqp.publish} the way an application does, remembering which {@code amqp.outbox} id each
 * message got (the bridge sends that id as the AMQP {@code message_id}). Ids are read back inside the publishing
 * transaction, where its own uncommitted rows are visible.
 *
 * <p>Threading: stateless; each call uses the connection it is given, or one of its own.
 */
final class Published {

  /** One published message: its outbox id and body. */
  record Message(long id, String body) {}

  private static final String PUBLISH_ALL =
      "select count(amqp.publish(?::int, ?, ?, t.body)) from unnest(?::text[]) as t(body)";

  private static final String OWN_ROWS =
      "select o.id, o.body from amqp.outbox o where o.broker_id = ? and o.kind = 'p'"
          + " and o.tx = pg_catalog.pg_current_xact_id() order by o.id desc limit ?";

  private Published() {}

  /** {@code prefix-0}, {@code prefix-1}, ... : {@code count} distinct bodies. */
  static List<String> bodies(String prefix, int count) {
    return IntStream.range(0, count).mapToObj(i -> prefix + "-" + i).toList();
  }

  /** Publishes {@code bodies} in one transaction of its own, committed; returns them with their ids, in id order. */
  static List<Message> commit(TestDatabase db, int brokerId, String exchange, String routingKey, List<String> bodies)
      throws SQLException {
    try (Connection c = db.connect()) {
      c.setAutoCommit(false);
      List<Message> published = inTransaction(c, brokerId, exchange, routingKey, bodies);
      c.commit();
      return published;
    }
  }

  /**
   * Publishes {@code bodies} (in that order, one statement) in the caller's open transaction on {@code c}, which must
   * not be in auto-commit mode; commit or roll back is the caller's. Returns them with their ids, in id order.
   */
  static List<Message> inTransaction(
      Connection c, int brokerId, String exchange, String routingKey, List<String> bodies) throws SQLException {
    if (c.getAutoCommit()) {
      throw new IllegalArgumentException("the connection must be in a transaction (auto-commit off)");
    }
    try (PreparedStatement ps = c.prepareStatement(PUBLISH_ALL)) {
      ps.setInt(1, brokerId);
      ps.setString(2, exchange);
      ps.setString(3, routingKey);
      ps.setArray(4, c.createArrayOf("text", bodies.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        if (rs.getLong(1) != bodies.size()) {
          throw new IllegalStateException("amqp.publish ran " + rs.getLong(1) + " times for " + bodies.size());
        }
      }
    }
    List<Message> own = ownNewest(c, brokerId, bodies.size());
    for (int i = 0; i < own.size(); i++) {
      if (!own.get(i).body().equals(bodies.get(i))) {
        throw new IllegalStateException("outbox row " + own.get(i) + " is not body " + bodies.get(i));
      }
    }
    return own;
  }

  /**
   * Publishes one message with every property (null = the function's default) in the caller's transaction on
   * {@code c} (auto-commit off); returns it with its id.
   */
  static Message one(Connection c, int brokerId, String exchange, String routingKey, String body,
      Integer deliveryMode, String contentType, String replyTo, String correlationId) throws SQLException {
    if (c.getAutoCommit()) {
      throw new IllegalArgumentException("the connection must be in a transaction (auto-commit off)");
    }
    try (PreparedStatement ps =
        c.prepareStatement("select amqp.publish(?::int, ?, ?, ?, ?::int, ?, ?, ?)")) {
      ps.setInt(1, brokerId);
      ps.setString(2, exchange);
      ps.setString(3, routingKey);
      ps.setString(4, body);
      ps.setObject(5, deliveryMode);
      ps.setString(6, contentType);
      ps.setString(7, replyTo);
      ps.setString(8, correlationId);
      ps.execute();
    }
    return ownNewest(c, brokerId, 1).get(0);
  }

  /** The newest {@code n} rows the transaction on {@code c} queued for {@code brokerId}, in id order. */
  private static List<Message> ownNewest(Connection c, int brokerId, int n) throws SQLException {
    List<Message> rows = new ArrayList<>(n);
    try (PreparedStatement ps = c.prepareStatement(OWN_ROWS)) {
      ps.setInt(1, brokerId);
      ps.setInt(2, n);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          rows.add(new Message(rs.getLong(1), rs.getString(2)));
        }
      }
    }
    if (rows.size() != n) {
      throw new IllegalStateException("expected " + n + " own outbox rows, found " + rows.size());
    }
    Collections.reverse(rows);
    return rows;
  }

  /** The bodies of {@code messages}, in order. */
  static List<String> bodiesOf(List<Message> messages) {
    return messages.stream().map(Message::body).toList();
  }
}
