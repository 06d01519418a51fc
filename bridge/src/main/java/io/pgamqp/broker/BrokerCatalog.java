package io.pgamqp.broker;

import io.pgamqp.outbox.ExchangeDeclaration;
import io.pgamqp.outbox.SlickDatabase;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;

/** Reads what SQL users configured: {@code amqp.broker}, {@code amqp.broker_state}, {@code amqp.exchange_declaration}. */
public final class BrokerCatalog {

  /** Everything needed to connect to one broker. Immutable. */
  public record BrokerConfig(int brokerId, List<BrokerEndpoint> endpoints, boolean dropUnroutable) {}

  private static final String BROKERS =
      "select b.broker_id, b.host, b.port, coalesce(b.vhost, '/'), coalesce(b.username, 'guest'),"
          + " b.password, coalesce(s.on_unroutable = 'drop', false), b.tls, b.tls_verify, b.tls_server_name"
          + " from amqp.broker b left join amqp.broker_state s using (broker_id)"
          + " order by b.broker_id, b.host desc, b.port";

  private static final String DECLARATIONS =
      "select exchange, exchange_type, passive, durable, auto_delete from amqp.exchange_declaration"
          + " where broker_id = ? and (? or exchange operator(pg_catalog.=) any(?::text[]))"
          // Re-applied at every connect, except one the broker answered with a connection error (an x- type it does
          // not have: 503 COMMAND_INVALID): it would close every new connection and stall the broker for good. A new
          // amqp.exchange_declare() of that exchange resets it to pending.
          + " and not (? and status = 'failed' and pg_catalog.strpos(last_error, 'COMMAND_INVALID') > 0)"
          + " order by requested_at, exchange";

  private final SlickDatabase db;

  public BrokerCatalog(SlickDatabase db) {
    this.db = db;
  }

  /** All brokers by id. */
  public CompletionStage<Map<Integer, BrokerConfig>> brokers() {
    return db.run(c -> {
      Map<Integer, List<BrokerEndpoint>> endpoints = new TreeMap<>();
      Map<Integer, Boolean> drop = new HashMap<>();
      try (PreparedStatement ps = c.prepareStatement(BROKERS); ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          int id = rs.getInt(1);
          endpoints.computeIfAbsent(id, k -> new ArrayList<>()).add(new BrokerEndpoint(
              id, rs.getString(2), rs.getInt(3), rs.getString(4), rs.getString(5), rs.getString(6),
              rs.getBoolean(8), rs.getBoolean(9), rs.getString(10)));
          drop.put(id, rs.getBoolean(7));
        }
      }
      Map<Integer, BrokerConfig> result = new TreeMap<>();
      endpoints.forEach((id, list) -> result.put(id, new BrokerConfig(id, List.copyOf(list), drop.get(id))));
      return result;
    });
  }

  /** Recorded declarations of {@code brokerId}; all of them when {@code exchanges} is null. */
  public CompletionStage<Map<String, ExchangeDeclaration>> declarations(int brokerId, Collection<String> exchanges) {
    return db.run(c -> {
      Map<String, ExchangeDeclaration> result = new LinkedHashMap<>();
      try (PreparedStatement ps = c.prepareStatement(DECLARATIONS)) {
        ps.setInt(1, brokerId);
        ps.setBoolean(2, exchanges == null);
        ps.setArray(3, c.createArrayOf("text", exchanges == null ? new String[0] : exchanges.toArray()));
        ps.setBoolean(4, exchanges == null);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            result.put(rs.getString(1), new ExchangeDeclaration(
                rs.getString(1), rs.getString(2), rs.getBoolean(3), rs.getBoolean(4), rs.getBoolean(5)));
          }
        }
      }
      return result;
    });
  }
}
