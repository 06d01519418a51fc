package io.pgamqp.outbox;

import io.pgamqp.metrics.BridgeMetrics;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Every outbox query the bridge runs: claim, sweep, settle (delete / retry / dead-letter) and the wake-up flag. Runs
 * on the {@link SlickDatabase}'s own threads. Thread-safe (stateless apart from the database handle).
 *
 * <p>The sessions pin search_path ({@link io.pgamqp.config.DatabaseSettings#SEARCH_PATH}); the SQL does not rely on
 * it either: objects are schema-qualified, and an operator whose operands need a cast to match pg_catalog's (where a
 * look-alike would win on an open path) is written {@code operator(pg_catalog.x)}.
 */
public final class OutboxStore {

  private static final String COLUMNS =
      "o.id, o.tx::text, o.kind, o.exchange, o.routing_key, o.body, o.delivery_mode, o.content_type, o.reply_to,"
          + " o.correlation_id, coalesce(o.message_id, o.id::text),"
          + " (extract(epoch from o.created_at) operator(pg_catalog.*) 1000)::bigint, o.attempts,"
          // The optional fields last: null (a few bytes each on the wire) for a plain amqp.publish row.
          + " o.body_bytes, o.headers::text, o.type, o.app_id, o.expiration_ms, o.priority, o.content_encoding";

  // One statement, so the rows and the snapshot belong together. The lock test fences claims: a bridge that lost its
  // lock session claims nothing more, whatever its actors believe. age(xmin) counts from the next xid to be assigned
  // (this read-only statement has none of its own), read after the snapshot was taken: see Snapshot.parse(text, next).
  static final String CLAIM =
      "select snap.s::text, own.ok,"
          + " pg_catalog.age(pg_catalog.xid(pg_catalog.pg_snapshot_xmin(snap.s))), " + COLUMNS
          + " from (select pg_catalog.pg_current_snapshot() as s) snap"
          + " cross join (select exists (select 1 from pg_catalog.pg_locks l where l.locktype = 'advisory'"
          + "   and l.classid operator(pg_catalog.=) " + OwnershipLock.LOCK_CLASS + "::oid"
          + "   and l.objid operator(pg_catalog.=) ?::oid and l.objsubid = 2 and l.pid = ?"
          + "   and l.granted) as ok) own"
          + " left join lateral (select * from amqp.outbox o where own.ok and o.broker_id = ? and o.id > ?"
          + "   order by o.id limit ?) o on true";

  private static final String SWEEP =
      "select " + COLUMNS + " from amqp.outbox o where o.broker_id = ? and o.id > ? and o.id <= ?"
          + " and o.tx operator(pg_catalog.=) any(?::xid8[]) order by o.id";

  // Messages of held destinations are below the cursor on purpose (DestinationHolds): not stranded, and not to be
  // found in their place either.
  private static final String STRANDED =
      "select " + COLUMNS + " from amqp.outbox o where o.broker_id = ? and o.id <= ?"
          + " and o.created_at < pg_catalog.now() operator(pg_catalog.-) ?::interval"
          + " and not (o.kind operator(pg_catalog.=) 'p' and o.exchange operator(pg_catalog.=) any(?::text[]))"
          + " order by o.id limit ?";


  // The id range besides the list: without statistics (autovacuum off, or analyzed while empty) the planner estimates
  // `broker_id = ?` as a few hundred rows and prefers reading all of the broker's rows and filtering them by the
  // list over 250 index probes: 37 ms per settle on a 200,000-row backlog. The range makes every plan an index range.
  static final String DELETE =
      "delete from amqp.outbox where broker_id = ? and id >= ? and id <= ?"
          + " and id operator(pg_catalog.=) any(?::bigint[])";

  // At most one broker_state row version a second for the last confirm time.
  private static final String CONFIRM_DUE = "(last_confirm_at is null"
      + " or last_confirm_at < pg_catalog.now() operator(pg_catalog.-) interval '1 second')";

  // The common settlement (every row confirmed) in one statement and one round trip: the deletion and, at most once a
  // second, the broker's last confirm time. Autocommit; the pool's commits do not wait for their WAL flush
  // (DatabaseSettings.poolProperties).
  private static final String SETTLE_CONFIRMED =
      "with settled as (" + DELETE + " returning 1)"
          + " update amqp.broker_state set last_confirm_at = pg_catalog.now() where broker_id = ?"
          + " and exists (select from settled) and " + CONFIRM_DUE;

  private static final String RETRY =
      "update amqp.outbox o set attempts = o.attempts + 1, last_error = r.reason"
          + " from rows from (pg_catalog.unnest(?::bigint[]), pg_catalog.unnest(?::text[])) as r(id, reason)"
          + " where o.broker_id = ? and o.id >= ? and o.id <= ? and o.id = r.id";

  // Through a function: amqp_bridge may not write dead letters itself, only have outbox rows copied (grants.sql).
  private static final String DEAD_LETTER =
      "select amqp.dead_letter_outbox(outbox_ids => ?::bigint[], reasons => ?::text[], broker_id => ?)";

  // Through a function, as dead letters: amqp_bridge may not write amqp.scheduled.
  private static final String DEFER = "select amqp.outbox_defer(outbox_ids => ?::bigint[], reasons => ?::text[],"
      + " broker_id => ?, delays_ms => ?::bigint[])";

  private static final String DECLARED =
      "update amqp.exchange_declaration set status = ?, applied_at = pg_catalog.now(), last_error = ?"
          + " where broker_id = ? and exchange = ?";

  // By id alone: a newer request of the same object reset the row and queued another outbox row, whose outcome
  // follows this one. An applied unbind's row goes (the binding is gone; reconnects must not bind it again), but
  // only while it still asks for the unbind.
  private static final String TOPOLOGY_APPLIED =
      "update amqp.topology_declaration set status = ?, applied_at = pg_catalog.now(), last_error = ?"
          + " where broker_id = ? and id = ? and not (unbind and ?)";

  private static final String UNBOUND =
      "delete from amqp.topology_declaration where broker_id = ? and id = ? and unbind and ?";

  // clock_timestamp(), not now(): publishers compare the deadline with their own transaction's start. The deadline
  // comes back as text, exact to the microsecond, so that its withdrawal can name it (WITHDRAW).
  private static final String WAITING =
      "update amqp.broker_state set bridge_waiting_until = pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs => ?)"
          + " where broker_id = ? returning bridge_waiting_until::text";

  private static final String NOT_WAITING =
      "update amqp.broker_state set bridge_waiting_until = null where broker_id = ? and bridge_waiting_until is not null";

  // Only the request this stream made: a stream that ended must not withdraw the one its successor just made.
  private static final String WITHDRAW =
      "update amqp.broker_state set bridge_waiting_until = null where broker_id = ?"
          + " and bridge_waiting_until = ?::timestamptz";

  private static final String CONFIRMED_AT =
      "update amqp.broker_state set last_confirm_at = pg_catalog.now() where broker_id = ? and " + CONFIRM_DUE;

  private static final String OUTBOX_BYTES = "select pg_catalog.pg_total_relation_size('amqp.outbox'::regclass)";

  private static final String HOLD =
      "insert into amqp.held_destination as h (broker_id, exchange, since, last_error, expired) values (?, ?, ?, ?, ?)"
          + " on conflict on constraint held_destination_pkey do update"
          + " set last_error = excluded.last_error, expired = excluded.expired";

  private static final String UNHOLD = "delete from amqp.held_destination where broker_id = ? and exchange = ?";

  private static final String HELD =
      "select exchange, since, last_error, expired from amqp.held_destination where broker_id = ? order by since";

  private static final String RELEASE = "select released, next_due_in from amqp.scheduled_release(?, ?)";

  private static final String RECLAIM = "select amqp.outbox_reclaim(lock_wait => ?::interval, max_rows => ?)";

  /** The revision of schema amqp this bridge's SQL needs: sql/functions/amqp.schema_version.sql returns it. */
  public static final int SCHEMA_VERSION = 5;

  private static final String SCHEMA_VERSION_QUERY = "select amqp.schema_version()";

  // One row per broker, or per held destination of a broker (its exchange, hold age in seconds, waiting messages).
  private static final String BACKLOG =
      "select s.broker_id, s.backlog, coalesce(extract(epoch from s.oldest_pending_age), 0), h.exchange, h.age, h.waiting"
          + " from amqp.status s left join lateral (select x operator(pg_catalog.->>) 'exchange' as exchange,"
          + "   extract(epoch from pg_catalog.now() operator(pg_catalog.-)"
          + "     (x operator(pg_catalog.->>) 'since')::timestamptz) as age,"
          + "   (x operator(pg_catalog.->>) 'waiting')::bigint as waiting"
          + "   from pg_catalog.jsonb_array_elements(s.held_destinations) x) h on true"
          + " order by s.broker_id";

  /**
   * What one release of delayed messages did: {@code released} rows moved into the outbox; the next one is due in
   * {@code nextDueInSeconds} (negative: already due; null: none is scheduled).
   */
  public record Release(int released, Double nextDueInSeconds) {}

  /** What one claim saw. */
  public record Claim(Snapshot snapshot, boolean owned, List<OutboxRow> rows) {}

  /** One broker's pending rows and the age of its oldest, in seconds (0 when none). */
  public record Backlog(int brokerId, long rows, double oldestSeconds, List<Held> held) {}

  /** A held destination as sampled: its exchange, how long it has been held, its messages waiting (up to 100,000). */
  public record Held(String exchange, double ageSeconds, long waiting) {}

  private final SlickDatabase db;
  private final BridgeMetrics metrics;

  public OutboxStore(SlickDatabase db) {
    this(db, BridgeMetrics.NONE);
  }

  /** {@code metrics} is told how long each claim, sweep and settle took. */
  public OutboxStore(SlickDatabase db, BridgeMetrics metrics) {
    this.db = db;
    this.metrics = metrics;
  }

  private <T> CompletionStage<T> timed(int brokerId, BridgeMetrics.OutboxQuery query, CompletionStage<T> result,
      long startNanos) {
    return result.whenComplete((r, e) -> {
      if (e == null) {
        metrics.outboxQuery(brokerId, query, System.nanoTime() - startNanos);
      }
    });
  }

  /** Claims up to {@code limit} rows of {@code brokerId} after {@code cursor}, if {@code ownerPid} holds its lock. */
  public CompletionStage<Claim> claim(int brokerId, int ownerPid, long cursor, int limit) {
    return timed(brokerId, BridgeMetrics.OutboxQuery.CLAIM, claimRows(brokerId, ownerPid, cursor, limit),
        System.nanoTime());
  }

  private CompletionStage<Claim> claimRows(int brokerId, int ownerPid, long cursor, int limit) {
    return db.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(CLAIM)) {
        ps.setInt(1, brokerId);
        ps.setInt(2, ownerPid);
        ps.setInt(3, brokerId);
        ps.setLong(4, cursor);
        ps.setInt(5, limit);
        List<OutboxRow> rows = new ArrayList<>(limit);
        Snapshot snapshot = null;
        boolean owned = false;
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            if (snapshot == null) {
              String text = rs.getString(1);
              long xmin = Long.parseLong(text.substring(0, text.indexOf(':')));
              snapshot = Snapshot.parse(text, xmin + rs.getInt(3));
              owned = rs.getBoolean(2);
            }
            rs.getLong(4);
            if (!rs.wasNull()) {
              rows.add(row(rs, 4));
            }
          }
        }
        return new Claim(snapshot, owned, rows);
      }
    });
  }

  /** Records (or updates) a hold, for amqp.status and for a bridge that takes over. */
  public CompletionStage<Integer> recordHold(int brokerId, DestinationHolds.Hold hold) {
    return db.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(HOLD)) {
        ps.setInt(1, brokerId);
        ps.setString(2, hold.exchange());
        ps.setObject(3, java.time.OffsetDateTime.ofInstant(hold.since(), java.time.ZoneOffset.UTC));
        ps.setString(4, hold.lastError());
        ps.setBoolean(5, hold.expired());
        return ps.executeUpdate();
      }
    });
  }

  public CompletionStage<Integer> clearHold(int brokerId, String exchange) {
    return db.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(UNHOLD)) {
        ps.setInt(1, brokerId);
        ps.setString(2, exchange);
        return ps.executeUpdate();
      }
    });
  }

  /** The holds recorded for {@code brokerId}, oldest first. */
  public CompletionStage<List<DestinationHolds.Hold>> heldDestinations(int brokerId) {
    return db.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(HELD)) {
        ps.setInt(1, brokerId);
        List<DestinationHolds.Hold> held = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            held.add(new DestinationHolds.Hold(rs.getString(1),
                rs.getObject(2, java.time.OffsetDateTime.class).toInstant(), rs.getString(3), rs.getBoolean(4)));
          }
        }
        return held;
      }
    });
  }

  /** Moves up to {@code maxRows} of {@code brokerId}'s delayed messages that fell due into the outbox. */
  public CompletionStage<Release> release(int brokerId, int maxRows) {
    return timed(brokerId, BridgeMetrics.OutboxQuery.RELEASE, db.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(RELEASE)) {
        ps.setInt(1, brokerId);
        ps.setInt(2, maxRows);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          int released = rs.getInt(1);
          double next = rs.getDouble(2);
          return new Release(released, rs.wasNull() ? null : next);
        }
      }
    }), System.nanoTime());
  }

  /** Rows of finished late transactions ({@link LateTransactions}). */
  public CompletionStage<List<OutboxRow>> sweep(int brokerId, LateTransactions.Sweep sweep) {
    return timed(brokerId, BridgeMetrics.OutboxQuery.SWEEP, sweepRows(brokerId, sweep), System.nanoTime());
  }

  private CompletionStage<List<OutboxRow>> sweepRows(int brokerId, LateTransactions.Sweep sweep) {
    return db.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(SWEEP)) {
        ps.setInt(1, brokerId);
        ps.setLong(2, sweep.from());
        ps.setLong(3, sweep.to());
        String[] xids = new String[sweep.xids().length];
        for (int i = 0; i < xids.length; i++) {
          xids[i] = Long.toString(sweep.xids()[i]);
        }
        ps.setArray(4, c.createArrayOf("text", xids));
        return rows(ps);
      }
    });
  }

  /** Rows at or below the cursor older than {@code age}: the fallback that keeps any row from being stranded. */
  public CompletionStage<List<OutboxRow>> stranded(int brokerId, long cursor, Duration age, int limit,
      String[] heldExchanges) {
    return db.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(STRANDED)) {
        ps.setInt(1, brokerId);
        ps.setLong(2, cursor);
        ps.setString(3, age.toMillis() + " milliseconds");
        ps.setArray(4, c.createArrayOf("text", heldExchanges));
        ps.setInt(5, limit);
        return rows(ps);
      }
    });
  }

  /**
   * Asks publishers to NOTIFY this broker's channel for the next {@code lease}; renew it before it lapses. Completes
   * with the deadline set (for {@link #withdrawWaiting}), null when the broker has no state row.
   */
  public CompletionStage<String> setWaiting(int brokerId, Duration lease) {
    return db.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(WAITING)) {
        ps.setDouble(1, lease.toMillis() / 1000.0);
        ps.setInt(2, brokerId);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? rs.getString(1) : null;
        }
      }
    });
  }

  /** Withdraws the request that set {@code deadline}, if it is still the broker's. */
  public CompletionStage<Integer> withdrawWaiting(int brokerId, String deadline) {
    return db.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(WITHDRAW)) {
        ps.setInt(1, brokerId);
        ps.setString(2, deadline);
        return ps.executeUpdate();
      }
    });
  }

  /** Withdraws any wake-up request of the broker (a new owner starting up): publishers stop notifying. */
  public CompletionStage<Integer> clearWaiting(int brokerId) {
    return db.run(c -> {
      try (PreparedStatement ps = c.prepareStatement(NOT_WAITING)) {
        ps.setInt(1, brokerId);
        return ps.executeUpdate();
      }
    });
  }

  /** {@code brokerId}'s runtime report in {@code amqp.broker_state}, as this process writes it. */
  public BrokerStateReport stateReport(int brokerId) {
    return new BrokerStateReport(db, brokerId);
  }

  /** The {@code amqp.disconnect()} requests waiting in {@code amqp.disconnect_request}. */
  public DisconnectRequests disconnectRequests() {
    return new DisconnectRequests(db);
  }

  /** Whether the database answers within 2 s: completes with null when it does, else with why not. */
  public CompletionStage<String> unreachable() {
    return db.run(c -> c.isValid(2)).handle((valid, e) -> {
      if (e != null) {
        return e.getMessage();
      }
      return Boolean.TRUE.equals(valid) ? null : "connection is not valid";
    });
  }

  /**
   * Why schema amqp in this database cannot serve this bridge — missing, or older than {@link #SCHEMA_VERSION} —
   * or null: fine, or not known (no privilege to ask, the database away: {@link #unreachable()} says that).
   */
  public CompletionStage<String> schemaProblem() {
    return db.run(c -> {
      String database = "database " + c.getCatalog();
      try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(SCHEMA_VERSION_QUERY)) {
        rs.next();
        int installed = rs.getInt(1);
        return installed >= SCHEMA_VERSION ? null : older(database, "revision " + installed);
      } catch (SQLException e) {
        return switch (String.valueOf(e.getSQLState())) {
          case "3F000" -> schemaMissing(database);
          case "42883" -> older(database, "a revision without amqp.schema_version()");
          default -> null;
        };
      }
    }).exceptionally(e -> null);
  }

  /** What users read when schema amqp is not there (readiness, the log). */
  public static String schemaMissing(String database) {
    return "schema amqp is not installed in " + database + " (run `pgamqp install`)";
  }

  private static String older(String database, String installed) {
    return "schema amqp in " + database + " is older than this bridge (" + installed + ", it needs revision "
        + SCHEMA_VERSION + "; run `pgamqp install` to upgrade it)";
  }

  /** The outbox's size on disk before a reclaim attempt and after it; {@code rewritten}: whether it was rewritten. */
  public record Reclaim(long bytesBefore, boolean rewritten, long bytesAfter) {}

  /**
   * Rewrites the outbox ({@code amqp.outbox_reclaim}) when it takes more than {@code above} bytes on disk, waiting at
   * most {@code lockWait} for its lock and only while at most {@code maxRows} rows wait.
   */
  public CompletionStage<Reclaim> reclaim(long above, Duration lockWait, int maxRows) {
    return db.run(c -> {
      long before = outboxBytes(c);
      if (before <= above) {
        return new Reclaim(before, false, before);
      }
      boolean rewritten;
      try (PreparedStatement ps = c.prepareStatement(RECLAIM)) {
        ps.setString(1, lockWait.toMillis() + " milliseconds");
        ps.setInt(2, maxRows);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          rs.getLong(1);
          rewritten = !rs.wasNull();
        }
      }
      return new Reclaim(before, rewritten, rewritten ? outboxBytes(c) : before);
    });
  }

  private static long outboxBytes(Connection c) throws SQLException {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(OUTBOX_BYTES)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** Every broker's backlog, as {@code amqp.status} counts it (cheap on a large backlog). */
  public CompletionStage<List<Backlog>> backlog() {
    return db.run(c -> {
      List<Backlog> all = new ArrayList<>();
      try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(BACKLOG)) {
        int broker = -1;
        List<Held> held = null;
        while (rs.next()) {
          if (held == null || rs.getInt(1) != broker) {
            broker = rs.getInt(1);
            held = new ArrayList<>();
            all.add(new Backlog(broker, rs.getLong(2), rs.getDouble(3), held));
          }
          String exchange = rs.getString(4);
          if (exchange != null) {
            held.add(new Held(exchange, rs.getDouble(5), rs.getLong(6)));
          }
        }
      }
      return all;
    });
  }

  /** Applies what the broker said about one batch, in one transaction. */
  public CompletionStage<Settlement> settle(int brokerId, Settlement settlement) {
    return timed(brokerId, BridgeMetrics.OutboxQuery.SETTLE, settleRows(brokerId, settlement), System.nanoTime());
  }

  private CompletionStage<Settlement> settleRows(int brokerId, Settlement settlement) {
    if (settlement.retried().isEmpty() && settlement.deadLettered().isEmpty() && settlement.deferred().isEmpty()
        && settlement.declarations().isEmpty() && settlement.topology().isEmpty()) {
      if (settlement.deleted().isEmpty()) {
        return CompletableFuture.completedFuture(settlement);
      }
      return db.run(c -> {
        try (PreparedStatement ps = c.prepareStatement(SETTLE_CONFIRMED)) {
          setDeleted(c, ps, brokerId, settlement.deleted());
          ps.setInt(5, brokerId);
          ps.executeUpdate();
        }
        return settlement;
      });
    }
    return db.transactionally(c -> {
      if (!settlement.deleted().isEmpty()) {
        try (PreparedStatement ps = c.prepareStatement(DELETE)) {
          setDeleted(c, ps, brokerId, settlement.deleted());
          ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement(CONFIRMED_AT)) { // at most one row version a second
          ps.setInt(1, brokerId);
          ps.executeUpdate();
        }
      }
      if (!settlement.retried().isEmpty()) {
        executeWithReasons(c, RETRY, true, brokerId, settlement.retried());
      }
      if (!settlement.deadLettered().isEmpty()) {
        executeWithReasons(c, DEAD_LETTER, false, brokerId, settlement.deadLettered());
      }
      if (!settlement.deferred().isEmpty()) {
        defer(c, brokerId, settlement.deferred());
      }
      writeDeclarations(c, brokerId, settlement.declarations());
      writeTopology(c, brokerId, settlement.topology());
      return settlement;
    });
  }

  /** Binds {@link #DELETE}'s parameters (1-4). */
  private static void setDeleted(Connection c, PreparedStatement ps, int brokerId, List<Long> ids)
      throws SQLException {
    ps.setInt(1, brokerId);
    ps.setLong(2, Collections.min(ids));
    ps.setLong(3, Collections.max(ids));
    ps.setArray(4, longs(c, ids));
  }

  /** Records the outcomes of the declarations re-applied when a connection opened. */
  public CompletionStage<List<Settlement.Declaration>> recordDeclarations(int brokerId,
      List<Settlement.Declaration> declarations) {
    return recordDeclarations(brokerId, declarations, List.of()).thenApply(x -> declarations);
  }

  /** Records the outcomes of the exchange, queue and binding declarations re-applied when a connection opened. */
  public CompletionStage<Integer> recordDeclarations(int brokerId, List<Settlement.Declaration> exchanges,
      List<Settlement.Topology> topology) {
    if (exchanges.isEmpty() && topology.isEmpty()) {
      return CompletableFuture.completedFuture(0);
    }
    return db.transactionally(c -> {
      writeDeclarations(c, brokerId, exchanges);
      writeTopology(c, brokerId, topology);
      return exchanges.size() + topology.size();
    });
  }

  private static void writeTopology(Connection c, int brokerId, List<Settlement.Topology> outcomes)
      throws SQLException {
    if (outcomes.isEmpty()) {
      return;
    }
    try (PreparedStatement applied = c.prepareStatement(TOPOLOGY_APPLIED);
        PreparedStatement unbound = c.prepareStatement(UNBOUND)) {
      for (Settlement.Topology t : outcomes) {
        boolean ok = t.error() == null;
        applied.setString(1, ok ? "applied" : "failed");
        applied.setString(2, t.error());
        applied.setInt(3, brokerId);
        applied.setLong(4, t.id());
        applied.setBoolean(5, ok);
        applied.addBatch();
        unbound.setInt(1, brokerId);
        unbound.setLong(2, t.id());
        unbound.setBoolean(3, ok);
        unbound.addBatch();
      }
      applied.executeBatch();
      unbound.executeBatch();
    }
  }

  private static void writeDeclarations(Connection c, int brokerId, List<Settlement.Declaration> declarations)
      throws SQLException {
    if (declarations.isEmpty()) {
      return;
    }
    try (PreparedStatement ps = c.prepareStatement(DECLARED)) {
      for (Settlement.Declaration d : declarations) {
        ps.setString(1, d.error() == null ? "declared" : "failed");
        ps.setString(2, d.error());
        ps.setInt(3, brokerId);
        ps.setString(4, d.exchange());
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  /** {@code sql} takes ids, reasons and the broker, then (when {@code ranged}) the smallest and largest id. */
  private static void executeWithReasons(Connection c, String sql, boolean ranged, int brokerId,
      List<Settlement.Failed> failed) throws SQLException {
    Long[] ids = new Long[failed.size()];
    String[] reasons = new String[failed.size()];
    long min = Long.MAX_VALUE;
    long max = Long.MIN_VALUE;
    for (int i = 0; i < ids.length; i++) {
      ids[i] = failed.get(i).id();
      reasons[i] = failed.get(i).reason();
      min = Math.min(min, ids[i]);
      max = Math.max(max, ids[i]);
    }
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setArray(1, c.createArrayOf("bigint", ids));
      ps.setArray(2, c.createArrayOf("text", reasons));
      ps.setInt(3, brokerId);
      if (ranged) {
        ps.setLong(4, min);
        ps.setLong(5, max);
      }
      ps.execute(); // an UPDATE, or a SELECT of a function
    }
  }

  private static void defer(Connection c, int brokerId, List<Settlement.Deferred> deferred) throws SQLException {
    Long[] ids = new Long[deferred.size()];
    String[] reasons = new String[deferred.size()];
    Long[] delays = new Long[deferred.size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = deferred.get(i).id();
      reasons[i] = deferred.get(i).reason();
      delays[i] = deferred.get(i).delayMillis();
    }
    try (PreparedStatement ps = c.prepareStatement(DEFER)) {
      ps.setArray(1, c.createArrayOf("bigint", ids));
      ps.setArray(2, c.createArrayOf("text", reasons));
      ps.setInt(3, brokerId);
      ps.setArray(4, c.createArrayOf("bigint", delays));
      ps.execute();
    }
  }

  private static Array longs(Connection c, List<Long> ids) throws SQLException {
    return c.createArrayOf("bigint", ids.toArray());
  }

  private static List<OutboxRow> rows(PreparedStatement ps) throws SQLException {
    List<OutboxRow> rows = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        rows.add(row(rs, 1));
      }
    }
    return rows;
  }

  private static OutboxRow row(ResultSet rs, int i) throws SQLException {
    String kind = rs.getString(i + 2);
    return new OutboxRow(
        rs.getLong(i),
        Long.parseLong(rs.getString(i + 1)),
        kind == null || kind.isEmpty() ? OutboxRow.PUBLISH : kind.charAt(0),
        rs.getString(i + 3),
        rs.getString(i + 4),
        rs.getString(i + 5),
        rs.getBytes(i + 13),
        rs.getInt(i + 6),
        rs.getString(i + 7),
        rs.getString(i + 8),
        rs.getString(i + 9),
        rs.getString(i + 10),
        rs.getLong(i + 11),
        rs.getInt(i + 12),
        fields(rs, i + 14));
  }

  /** Columns {@code i..i+5}: headers::text, type, app_id, expiration_ms, priority, content_encoding. */
  private static OutboxRow.Fields fields(ResultSet rs, int i) throws SQLException {
    String headers = rs.getString(i);
    String type = rs.getString(i + 1);
    String appId = rs.getString(i + 2);
    long expiration = rs.getLong(i + 3);
    Long expirationMs = rs.wasNull() ? null : expiration;
    int priority = rs.getInt(i + 4);
    Integer priorityOrNull = rs.wasNull() ? null : priority;
    String contentEncoding = rs.getString(i + 5);
    if (headers == null && type == null && appId == null && expirationMs == null && priorityOrNull == null
        && contentEncoding == null) {
      return OutboxRow.Fields.NONE;
    }
    Map<String, Object> table = null;
    String headersError = null;
    if (headers != null) {
      try {
        table = HeaderTable.parse(headers);
      } catch (IllegalArgumentException e) {
        headersError = e.getMessage(); // not thrown: one such row must not stop the claim of every other
      }
    }
    return new OutboxRow.Fields(table, type, appId, expirationMs, priorityOrNull, contentEncoding, headersError);
  }
}
