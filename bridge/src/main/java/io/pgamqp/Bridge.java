package io.pgamqp;

import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AskPattern;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.Cluster;
import com.typesafe.config.Config;
import io.pgamqp.broker.BridgeStatus;
import io.pgamqp.broker.BrokerCatalog;
import io.pgamqp.broker.BrokerRegistry;
import io.pgamqp.broker.BrokerSupervisor;
import io.pgamqp.cluster.BrokerShards;
import io.pgamqp.config.BridgeSettings;
import io.pgamqp.config.ChosenDatabase;
import io.pgamqp.config.ClusterSettings;
import io.pgamqp.config.ConfigError;
import io.pgamqp.config.DatabaseSettings;
import io.pgamqp.config.HttpSettings;
import io.pgamqp.http.HttpEndpoint;
import io.pgamqp.http.OperationsPage;
import io.pgamqp.http.StatusSource;
import io.pgamqp.logging.AkkaNoiseFilter;
import io.pgamqp.metrics.BridgeMetrics;
import io.pgamqp.metrics.ConfirmRate;
import io.pgamqp.metrics.DrainProgress;
import io.pgamqp.metrics.MicrometerBridgeMetrics;
import io.pgamqp.outbox.NotificationListener;
import io.pgamqp.outbox.OutboxReclaimer;
import io.pgamqp.outbox.OutboxStore;
import io.pgamqp.outbox.SessionPinningCheck;
import io.pgamqp.outbox.SlickDatabase;
import io.pgamqp.outbox.StatusView;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A running bridge: the actor system, the broker registry under it, the LISTEN thread and the database pool. Stopping
 * it (or SIGTERM, through Akka's CoordinatedShutdown) stops claiming, lets in-flight confirms settle, then closes.
 */
public final class Bridge implements AutoCloseable {
  private final ActorSystem<Void> system;
  private final int httpPort;

  private Bridge(ActorSystem<Void> system, int httpPort) {
    this.system = system;
    this.httpPort = httpPort;
  }

  /** Validates the settings (failing with a message naming the key) and starts the bridge. */
  public static Bridge start(Config config) {
    DatabaseSettings db = DatabaseSettings.create(config);
    BridgeSettings settings = BridgeSettings.create(config);
    HttpSettings http = HttpSettings.create(config);
    ClusterSettings cluster = ClusterSettings.create(config);
    SessionPinningCheck.requireSessions(db).ifPresent(reason -> org.slf4j.LoggerFactory.getLogger(Bridge.class).warn(
        "Could not check that pgamqp.db.session-url gives real sessions (not a transaction-mode pooler): {}",
        reason));
    Config effective = cluster.enabled() ? cluster.akkaConfig(settings.drainTimeout()).withFallback(config) : config;
    MicrometerBridgeMetrics prometheus = new MicrometerBridgeMetrics();
    ConfirmRate rate = new ConfirmRate();
    BridgeMetrics metrics = BridgeMetrics.combine(prometheus, new DrainProgress(settings.progressInterval()), rate);
    SlickDatabase database = SlickDatabase.create(db, "pgamqp-db");
    BrokerSupervisor.Deps deps =
        new BrokerSupervisor.Deps(db, settings, new OutboxStore(database, metrics), new BrokerCatalog(database), metrics);
    CompletableFuture<ActorRef<BrokerRegistry.Command>> registry = new CompletableFuture<>();
    AtomicReference<HttpEndpoint> endpoint = new AtomicReference<>();
    ActorSystem<Void> system = ActorSystem.create(guardian(deps, cluster, database, registry, endpoint, prometheus,
        ChosenDatabase.describe(config, db)),
        ClusterSettings.SYSTEM_NAME, effective);
    if (!http.enabled()) {
      return new Bridge(system, -1);
    }
    try {
      Duration timeout = http.statusTimeout();
      StatusSource brokers = () -> registry.thenCompose(r -> AskPattern.<BrokerRegistry.Command, BridgeStatus>ask(
          r, BrokerRegistry.GetStatus::new, timeout, system.scheduler()));
      StatusSource status = !cluster.enabled() ? brokers : () -> brokers.status().thenApply(s -> s.withClusterMember(
          Cluster.get(system).selfMember().status().toString()));
      OperationsPage page = new OperationsPage(() -> database.run(StatusView::read), status, rate::perSecond,
          db.displayUrl(), timeout);
      HttpEndpoint e = HttpEndpoint.start(http, () -> !system.getWhenTerminated().toCompletableFuture().isDone(),
          status, prometheus, page);
      endpoint.set(e);
      return new Bridge(system, e.port());
    } catch (IOException e) {
      system.terminate();
      throw new ConfigError(e.getMessage(), e);
    }
  }

  private static Behavior<Void> guardian(BrokerSupervisor.Deps deps, ClusterSettings cluster, SlickDatabase database,
      CompletableFuture<ActorRef<BrokerRegistry.Command>> registryRef, AtomicReference<HttpEndpoint> endpoint,
      MicrometerBridgeMetrics prometheus, String databaseChoice) {
    return Behaviors.setup(ctx -> {
      ActorRef<BrokerRegistry.Command> registry = ctx.spawn(cluster.enabled()
          ? BrokerRegistry.clustered(deps, r -> BrokerShards.start(ctx.getSystem(), r), cluster.ensureInterval())
          : BrokerRegistry.create(deps), "brokers");
      registryRef.complete(registry);
      ctx.spawn(OutboxReclaimer.create(deps.store(), deps.settings()), "outbox-reclaimer");
      NotificationListener listener =
          new NotificationListener(deps.database(), n -> registry.tell(new BrokerRegistry.Notified(n)));
      listener.start();
      ctx.getLog().info("pgamqp bridge started: database {} as {}{}", databaseChoice,
          deps.database().user(),
          cluster.enabled() ? "; cluster node " + cluster.host() + ":" + cluster.port() + ", seed nodes "
              + String.join(", ", cluster.seedNodes()) : "");
      CoordinatedShutdown cs = CoordinatedShutdown.get(ctx.getSystem());
      cs.addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "quiet-remoting-teardown", () -> {
        AkkaNoiseFilter.stopping();
        return CompletableFuture.completedFuture(Done.getInstance());
      });
      Duration drain = deps.settings().drainTimeout().plusSeconds(5);
      // Clustered, sharding hands every broker over first (cluster-sharding-shutdown-region, each after its in-flight
      // confirms settled); draining here afterwards only stops what a downed node still runs.
      String drainPhase = cluster.enabled()
          ? CoordinatedShutdown.PhaseClusterShutdown() : CoordinatedShutdown.PhaseServiceRequestsDone();
      if (cluster.enabled()) {
        cs.addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "stop-placing-brokers", () -> {
          registry.tell(BrokerRegistry.StopPlacing.INSTANCE);
          return CompletableFuture.completedFuture(Done.getInstance());
        });
      }
      cs.addTask(drainPhase, "drain-brokers", () -> {
        CompletionStage<Done> drained = AskPattern.ask(
            registry, BrokerRegistry.Drain::new, drain, ctx.getSystem().scheduler());
        return drained.exceptionally(e -> Done.getInstance());
      });
      cs.addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "close-database", () -> {
        HttpEndpoint e = endpoint.get();
        if (e != null) {
          e.close();
        }
        prometheus.close();
        listener.close();
        database.close();
        return CompletableFuture.completedFuture(Done.getInstance());
      });
      return Behaviors.empty();
    });
  }

  /** The bound operations port (/health, /metrics), or -1 when pgamqp.http.enabled is off. */
  public int httpPort() {
    return httpPort;
  }

  public ActorSystem<Void> system() {
    return system;
  }

  /** Why a bridge stops; Akka's own log line says it too ("Running CoordinatedShutdown with reason [SIGTERM]"). */
  public enum StopReason implements CoordinatedShutdown.Reason {
    SIGTERM("SIGTERM"),
    SIGINT("SIGINT (Ctrl-C)"),
    CLOSED("closed by the program that started it");

    private final String text;

    StopReason(String text) {
      this.text = text;
    }

    @Override
    public String toString() {
      return text;
    }
  }

  /** Stops gracefully and waits until everything is closed. */
  @Override
  public void close() {
    close(StopReason.CLOSED);
  }

  /** Stops gracefully for {@code reason}, which the log names, and waits until everything is closed. */
  public void close(StopReason reason) {
    system.log().info("pgamqp bridge stopping: {}", reason);
    try {
      CoordinatedShutdown.get(system).runAll(reason).toCompletableFuture().get(2, TimeUnit.MINUTES);
    } catch (Exception e) {
      system.terminate();
    }
    try {
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception ignored) {
      // terminated or given up; nothing else to release
    }
  }

  /** True when the cluster downed this node (Split Brain Resolver): its brokers moved to the surviving nodes. */
  public boolean downedByCluster() {
    return CoordinatedShutdown.get(system).getShutdownReason()
        .map(CoordinatedShutdown.clusterDowningReason()::equals).orElse(false);
  }

  /** Completes when the actor system has terminated. */
  public CompletionStage<Done> whenTerminated() {
    return system.getWhenTerminated();
  }
}
