package io.pgamqp.outbox;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.pgamqp.config.DatabaseSettings;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import scala.Option;
import scala.concurrent.ExecutionContext;
import scala.concurrent.Future;
import scala.concurrent.duration.Duration;
import slick.dbio.DBIOAction;
import slick.jdbc.JdbcBackend;
import slick.jdbc.JdbcBackend$;
import slick.jdbc.SimpleJdbcAction;
import slick.util.AsyncExecutor;
import slick.util.AsyncExecutor$;

/**
 * Our small Java adapter over Slick 3.3.3 (Alpakka Slick is not available to us): a HikariCP pool and Slick's
 * {@link AsyncExecutor}, whose threads are the dedicated dispatcher for every outbox query. Callers hand in plain JDBC
 * work; it runs on Slick's threads and completes a {@link CompletionStage}.
 *
 * <p>We claim in keyset batches (one short query per batch) instead of one long streaming query, so no server-side
 * cursor is needed; should one be, Slick streams from PostgreSQL only with {@code .transactionally} and a fetch size.
 *
 * <p>Thread-safe. {@link #close()} waits for running work.
 */
public final class SlickDatabase implements AutoCloseable {

  /** JDBC work run on a pooled connection. */
  @FunctionalInterface
  public interface Work<T> {
    T apply(Connection connection) throws SQLException;
  }

  private final HikariDataSource dataSource;
  private final JdbcBackend.DatabaseDef db;

  private SlickDatabase(HikariDataSource dataSource, JdbcBackend.DatabaseDef db) {
    this.dataSource = dataSource;
    this.db = db;
  }

  public static SlickDatabase create(DatabaseSettings settings, String poolName) {
    HikariConfig hc = new HikariConfig();
    hc.setPoolName(poolName);
    hc.setJdbcUrl(settings.url());
    hc.setUsername(settings.user());
    if (!settings.password().isEmpty()) {
      hc.setPassword(settings.password());
    }
    hc.setMaximumPoolSize(settings.poolSize());
    hc.setMinimumIdle(1);
    hc.setConnectionTimeout(settings.connectTimeout().toMillis());
    // Hikari checks a connection idle for over 500 ms before lending it, under a network timeout of its own (5 s by
    // default) instead of socket-timeout: a black-holed database would then be noticed after 5 s, not socket-timeout.
    hc.setValidationTimeout(Math.max(250, Math.min(settings.socketTimeout().toMillis(),
        settings.connectTimeout().toMillis() - 1)));
    hc.setInitializationFailTimeout(-1); // start even when the database is down; queries fail and are retried
    // The dedicated connections' session properties (timeouts, pinned search_path, planner settings), and async commit.
    hc.setDataSourceProperties(settings.poolProperties(poolName));
    if (!settings.sessionUrl().equals(settings.url())) {
      // A pool apart from the sessions is how a transaction-mode pooler is used; PgJDBC's named server-side
      // statements would not survive it (PgBouncer before 1.21), so send every query unnamed. The URL may override.
      hc.addDataSourceProperty("prepareThreshold", "0");
    }
    HikariDataSource ds = new HikariDataSource(hc);
    int n = settings.poolSize();
    // Slick's defaults, passed explicitly (Java cannot omit Scala's default arguments).
    AsyncExecutor executor =
        AsyncExecutor$.MODULE$.apply(poolName, n, n, 1000, n, Duration.create(1, TimeUnit.MINUTES), false);
    JdbcBackend.DatabaseDef db =
        JdbcBackend$.MODULE$.Database().forDataSource(ds, Option.apply((Object) n), executor, false);
    return new SlickDatabase(ds, db);
  }

  /** Runs {@code work} in autocommit mode. */
  public <T> CompletionStage<T> run(Work<T> work) {
    return execute(work);
  }

  /** Runs {@code work} in one transaction: committed when it returns, rolled back when it throws. */
  public <T> CompletionStage<T> transactionally(Work<T> work) {
    return execute(connection -> {
      connection.setAutoCommit(false);
      try {
        T result = work.apply(connection);
        connection.commit();
        return result;
      } catch (SQLException | RuntimeException e) {
        try {
          connection.rollback();
        } catch (SQLException suppressed) {
          e.addSuppressed(suppressed);
        }
        throw e;
      } finally {
        connection.setAutoCommit(true);
      }
    });
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private <T> CompletionStage<T> execute(Work<T> work) {
    SimpleJdbcAction<T> action = SimpleJdbcAction.apply(ctx -> {
      try {
        return work.apply(ctx.connection());
      } catch (SQLException e) {
        throw new OutboxException(e);
      }
    });
    // Java cannot see Scala's contravariant effect type, hence the raw cast.
    Future<T> future = db.run((DBIOAction) action);
    return completedFrom(future);
  }

  /**
   * A plain {@link CompletableFuture} completed on the Slick thread that finished the work, whose callbacks run there
   * too (they only hand results on: a stream stage's async callback, an actor message, the next query's submission).
   *
   * <p>Not Scala's {@code FutureConverters.asJava}: its future runs every callback, {@code thenApply} and
   * {@code whenComplete} included, as an async task on Java's default executor, and on a machine with fewer than three
   * cores that is {@code ThreadPerTaskExecutor}, a new thread per callback: 190 threads created a second at 2,400 msg/s
   * (strace), a fifth of the bridge's CPU spent starting and ending them.
   */
  static <T> CompletableFuture<T> completedFrom(Future<T> future) {
    CompletableFuture<T> result = new CompletableFuture<>();
    future.onComplete(outcome -> {
      if (outcome.isSuccess()) {
        result.complete(outcome.get());
      } else {
        result.completeExceptionally(outcome.failed().get());
      }
      return null;
    }, ExecutionContext.parasitic$.MODULE$);
    return result;
  }

  @Override
  public void close() {
    db.close();
    dataSource.close();
  }
}
