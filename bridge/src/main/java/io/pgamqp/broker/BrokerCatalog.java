package io.pgamqp.broker;

import io.pgamqp.outbox.ExchangeDeclaration;
import io.pgamqp.outbox.HeaderTable;
import io.pgamqp.outbox.SlickDatabase;
import io.pgamqp.outbox.TopologyDeclaration;
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

/**
 * Reads what SQL users configured: {@code amqp.broker}, {@code amqp.broker_state}, and the declarations in
 * {@code amqp.exchange_declaration} and {@code amqp.topology_declaration}.
 */
public final class BrokerCatalog {

  /** Everything needed to connect to one broker. Immutable. */
  public record BrokerConfig(int brokerId, List<BrokerEndpoint> endpoints, boolean dropUnroutable) {}

  private static final String BROKERS =
      "select b.broker_id, b.host, b.port, coalesce(b.vhost, '/'), coalesce(b.username, 'guest'),"
          + " b.password, coalesce(s.on_unroutable = 'drop', false), b.tls, b.tls_verify, b.tls_server_name"
          + " from amqp.broker b left join amqp.broker_state s using (broker_id)"
          + " order by b.broker_id, b.host desc, b.port";

  // At connect (all of them): every recorded declaration except the failed ones. A refusal (406 for other arguments,
  // 503 COMMAND_INVALID for an exchange type the broker lacks, which would also close every new connection) would
  // only come again; a new amqp.exchange_declare() of that exchange resets it to pending.
  private static final String DECLARATIONS =
      "select exchange, exchange_type, passive, durable, auto_delete, arguments::text from amqp.exchange_declaration"
          + " where broker_id = ? and (? or exchange operator(pg_catalog.=) any(?::text[]))"
          + " and not (? and status = 'failed')"
          + " order by requested_at, exchange";

  // The order: queues, then bindings (their queues and exchanges exist by then), then unbinds. At connect, neither
  // failed rows (as above) nor unbinds: an unbind row there is pending (an applied one is deleted), so its outbox row
  // still waits and applies it in its turn; applied at connect it would go before the messages published ahead of
  // it, and those would find no binding.
  private static final String TOPOLOGY =
      "select id, kind, name, source, routing_key, arguments::text, coalesce(durable, true),"
          + " coalesce(auto_delete, false), unbind from amqp.topology_declaration"
          + " where broker_id = ? and (? or id operator(pg_catalog.=) any(?::bigint[]))"
          + " and not (? and (status = 'failed' or unbind))"
          + " order by case when kind = 'queue' then 0 when not unbind then 1 else 2 end, id";

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

  /** Recorded exchange declarations of {@code brokerId}; all but the failed ones when {@code exchanges} is null. */
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
            Arguments a = Arguments.of(rs.getString(6));
            result.put(rs.getString(1), new ExchangeDeclaration(
                rs.getString(1), rs.getString(2), rs.getBoolean(3), rs.getBoolean(4), rs.getBoolean(5), a.table(),
                a.error()));
          }
        }
      }
      return result;
    });
  }

  /**
   * Recorded queue, binding and unbind declarations of {@code brokerId} by id, in the order to apply them; when
   * {@code ids} is null (at connect) all but the failed ones and the unbinds.
   */
  public CompletionStage<Map<Long, TopologyDeclaration>> topology(int brokerId, Collection<Long> ids) {
    return db.run(c -> {
      Map<Long, TopologyDeclaration> result = new LinkedHashMap<>();
      try (PreparedStatement ps = c.prepareStatement(TOPOLOGY)) {
        ps.setInt(1, brokerId);
        ps.setBoolean(2, ids == null);
        ps.setArray(3, c.createArrayOf("bigint", ids == null ? new Long[0] : ids.toArray()));
        ps.setBoolean(4, ids == null);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            Arguments a = Arguments.of(rs.getString(6));
            result.put(rs.getLong(1), new TopologyDeclaration(rs.getLong(1),
                TopologyDeclaration.Kind.of(rs.getString(2)), rs.getString(3), rs.getString(4), rs.getString(5),
                a.table(), rs.getBoolean(7), rs.getBoolean(8), rs.getBoolean(9), a.error()));
          }
        }
      }
      return result;
    });
  }

  /** Stored x-arguments as an AMQP field table, or why they cannot be one (not thrown: one bad row must not stop all). */
  private record Arguments(Map<String, Object> table, String error) {
    static Arguments of(String json) {
      if (json == null) {
        return new Arguments(null, null);
      }
      try {
        return new Arguments(HeaderTable.parse(json), null);
      } catch (IllegalArgumentException e) {
        return new Arguments(null, e.getMessage());
      }
    }
  }
}
