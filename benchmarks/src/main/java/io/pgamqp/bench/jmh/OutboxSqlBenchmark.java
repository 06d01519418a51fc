package io.pgamqp.bench.jmh;

import com.typesafe.config.Config;
import io.pgamqp.config.DatabaseSettings;
import io.pgamqp.outbox.OutboxRow;
import io.pgamqp.outbox.OutboxStore;
import io.pgamqp.outbox.OwnershipLock;
import io.pgamqp.outbox.Settlement;
import io.pgamqp.outbox.SlickDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The bridge's two SQL round trips per batch against the real PostgreSQL, through {@link OutboxStore} (Slick pool,
 * as the bridge runs them): claim {@code batch} rows after the cursor, and settle (delete) a confirmed batch. Before
 * each invocation (untimed) {@code batch} fresh rows are inserted (and, for settle, claimed), so the outbox stays small
 * as in a steady state.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx512m")
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
public class OutboxSqlBenchmark {

  @State(Scope.Benchmark)
  public static class Db {
    @Param({"250"})
    public int batch;

    String name;
    SlickDatabase database;
    OutboxStore store;
    Connection admin;
    int lockPid;
    long cursor;
    List<OutboxRow> claimed = List.of();

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      name = "pgamqp_jmh_" + Long.toHexString(System.nanoTime());
      Config config = BenchEnv.createDatabase(name);
      DatabaseSettings settings = DatabaseSettings.create(config);
      database = SlickDatabase.create(settings, "pgamqp-jmh");
      store = new OutboxStore(database);
      // The claim is fenced by the owner's advisory lock: hold it on a session of our own and claim with its pid.
      admin = DriverManager.getConnection(settings.url(), BenchEnv.PG_USER, "");
      try (Statement st = admin.createStatement();
          ResultSet rs = st.executeQuery("select pg_advisory_lock(" + OwnershipLock.LOCK_CLASS + ", 1),"
              + " pg_backend_pid()")) {
        rs.next();
        lockPid = rs.getInt(2);
      }
    }

    void insertBatch() throws Exception {
      try (Statement st = admin.createStatement()) {
        st.execute("insert into amqp.outbox (broker_id, exchange, routing_key, body, delivery_mode)"
            + " select 1, 'pgamqp.bench', 'k', repeat('x', 256), 2 from generate_series(1, " + batch + ")");
      }
    }

    List<OutboxRow> claim() {
      OutboxStore.Claim c = store.claim(1, lockPid, cursor, batch).toCompletableFuture().join();
      if (!c.owned() || c.rows().size() != batch) {
        throw new IllegalStateException("claimed " + c.rows().size() + " rows, owned " + c.owned());
      }
      cursor = c.rows().get(c.rows().size() - 1).id();
      return c.rows();
    }

    Settlement settle(List<OutboxRow> rows) {
      List<Long> ids = new ArrayList<>(rows.size());
      for (OutboxRow r : rows) {
        ids.add(r.id());
      }
      return store.settle(1, new Settlement(ids, List.of(), List.of(), List.of(), false)).toCompletableFuture()
          .join();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
      database.close();
      admin.close();
      BenchEnv.dropDatabase(name);
    }
  }

  /** State for {@link #claim}: fresh rows before, deleted after (untimed). */
  @State(Scope.Thread)
  public static class ForClaim {
    List<OutboxRow> claimed;

    @Setup(Level.Invocation)
    public void before(Db db) throws Exception {
      db.insertBatch();
    }

    @TearDown(Level.Invocation)
    public void after(Db db) {
      db.settle(claimed);
    }
  }

  /** State for {@link #settle}: fresh rows, claimed (untimed). */
  @State(Scope.Thread)
  public static class ForSettle {
    List<OutboxRow> claimed;

    @Setup(Level.Invocation)
    public void before(Db db) throws Exception {
      db.insertBatch();
      claimed = db.claim();
    }
  }

  @Benchmark
  public List<OutboxRow> claim(Db db, ForClaim s) {
    s.claimed = db.claim();
    return s.claimed;
  }

  @Benchmark
  public Settlement settle(Db db, ForSettle s) {
    return db.settle(s.claimed);
  }
}
