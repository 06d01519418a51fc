package io.pgamqp.embedded;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.qpid.server.SystemLauncher;
import org.apache.qpid.server.SystemLauncherListener;
import org.apache.qpid.server.model.Broker;
import org.apache.qpid.server.model.Port;
import org.apache.qpid.server.model.State;
import org.apache.qpid.server.model.SystemConfig;
import org.apache.qpid.server.model.VirtualHost;
import org.apache.qpid.server.model.VirtualHostNode;
import org.apache.qpid.server.model.port.AmqpPort;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An in-process AMQP 0-9-1 broker (Apache Qpid Broker-J) for the {@code demo} command and for tests on machines
 * without RabbitMQ.
 *
 * <p>What it runs: a Memory system config (nothing persisted) built from an initial-configuration JSON generated into
 * a private temporary work directory: one AMQP port bound to 127.0.0.1 (AMQP 0-8, 0-9 and 0-9-1), a {@code Plain}
 * authentication provider with the single user {@value #USERNAME}/{@value #PASSWORD} allowed to use SASL PLAIN over
 * plain TCP (Qpid by default allows PLAIN only over TLS; amqp-client uses PLAIN; Qpid has no AMQPLAIN), and one
 * Memory virtual host node {@value #VIRTUAL_HOST} holding a Memory virtual host of the same name, marked as the
 * default node. The port carries a {@code defaultAlias} (an empty virtual host name selects the default node; Qpid
 * strips a leading '/' first, so clients asking for {@code "/"} — RabbitMQ's default, and amqp-client's — land on it)
 * and a {@code nameAlias} (so {@code "default"} works too). Qpid's {@code hostnameAlias} is left out: it resolves the
 * machine's addresses at start-up, which is slow on some hosts and useless here. No HTTP management.
 *
 * <p>How Qpid differs from RabbitMQ in ways the bridge can see (observed with amqp-client 5.25 against Qpid 9.2.0
 * and RabbitMQ 3.10; {@code EmbeddedServersTest} pins the Qpid side):
 * <ul>
 *   <li>Publisher confirms ({@code confirm.select}) are supported. Qpid confirms every publish on its own with
 *       {@code multiple = false} (RabbitMQ also coalesces acks with {@code multiple = true}), and <b>not in publish
 *       order</b>: a routed publish is acked once enqueued, an unroutable one at once, so a later publish's ack or
 *       nack often overtakes an earlier one's. Track confirms per delivery tag; never infer "all earlier tags are
 *       confirmed" from a single-tag confirm.</li>
 *   <li>A {@code mandatory} publish that no queue is bound for is <b>nacked</b> ({@code basic.nack}) <b>and</b>
 *       returned ({@code basic.return}, 312 "No route for message ..."), nack first, and the channel stays open.
 *       RabbitMQ sends the return and then an <em>ack</em>. So on Qpid "returned" and "nacked" are the same event
 *       for one message, and {@code waitForConfirmsOrDie} fails (and amqp-client closes the channel, possibly
 *       before the return arrives). A non-mandatory unroutable publish is acked and dropped on both.</li>
 *   <li>Re-declaring an exchange with a different type closes the whole <b>connection</b> (530 NOT_ALLOWED);
 *       RabbitMQ closes only the channel (406 PRECONDITION_FAILED). Publishing to, or passively declaring, a
 *       missing exchange closes the channel with 404 on both.</li>
 *   <li>A mandatory unroutable publish in a {@code tx.select} channel (no confirms) closes the connection
 *       (Qpid's {@code qpid.port.closeWhenNoRoute}, default true).</li>
 * </ul>
 *
 * <p>Lifecycle: {@link #start(int)} blocks until the port is bound and the virtual host is active (about 1.3 s for
 * the first broker in a JVM, under 0.1 s for later ones) and fails, leaving nothing running, if the port is taken.
 * {@link #close()} stops the broker, closing every client connection, ends Qpid's threads and deletes the work
 * directory; it is idempotent. Qpid's threads are not daemon threads, so the owner must close the broker for the JVM
 * to exit by itself; a shutdown hook closes it on {@code System.exit} or a signal. Several brokers may run in one JVM,
 * each on its own port.
 *
 * <p>Logging: Qpid logs through SLF4J into our Logback configuration; it brings no logging configuration and installs
 * no appenders (its Logback plugin is not on the classpath). The {@code org.apache.qpid} and {@code qpid} loggers are
 * lowered to WARN unless the configuration sets their level.
 *
 * <p>Threading: every method may be called from any thread; {@link #close()} is serialised.
 */
public final class EmbeddedAmqpBroker implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EmbeddedAmqpBroker.class);

  /** The only user; also its password. */
  public static final String USERNAME = "guest";
  /** {@link #USERNAME}'s password. */
  public static final String PASSWORD = "guest";
  /** The address the AMQP port is bound to. */
  public static final String HOST = "127.0.0.1";
  /** The virtual host's name; it is the default virtual host, so {@code "/"} and {@code ""} reach it as well. */
  public static final String VIRTUAL_HOST = "default";

  private static final Duration ACTIVATION_WAIT = Duration.ofSeconds(30);

  private final SystemLauncher launcher;
  private final Path workDir;
  private final int port;
  private final Thread shutdownHook;
  private final AtomicBoolean closed = new AtomicBoolean();

  private EmbeddedAmqpBroker(SystemLauncher launcher, Path workDir, int port) {
    this.launcher = launcher;
    this.workDir = workDir;
    this.port = port;
    this.shutdownHook = new Thread(this::close, "pgamqp-embedded-amqp-broker-shutdown");
  }

  /** Starts a broker on a free port; see {@link #start(int)}. */
  public static EmbeddedAmqpBroker start() {
    return start(0);
  }

  /**
   * Starts a broker and blocks until it accepts connections.
   *
   * @param port TCP port on 127.0.0.1, or 0 to let the operating system pick a free one
   * @throws IllegalStateException if the broker fails to start (e.g. the port is taken); nothing is left running
   */
  public static EmbeddedAmqpBroker start(int port) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be 0..65535, was " + port);
    }
    QuietLogging.warnUnlessConfigured("org.apache.qpid", "qpid");
    Path workDir;
    try {
      workDir = Files.createTempDirectory("pgamqp-qpid-");
    } catch (IOException e) {
      throw new UncheckedIOException("could not create a work directory for the embedded AMQP broker", e);
    }
    StartupListener listener = new StartupListener();
    SystemLauncher launcher = new SystemLauncher(listener);
    try {
      Path initialConfig = workDir.resolve("initial-config.json");
      Files.writeString(initialConfig, new ObjectMapper().writerWithDefaultPrettyPrinter()
          .writeValueAsString(initialConfiguration(port)));
      launcher.startup(systemConfigAttributes(workDir, initialConfig));
      // startup() swallows start-up failures and reports them only to the listener.
      RuntimeException failure = listener.failure.get();
      if (failure != null) {
        throw failure;
      }
      SystemConfig<?> systemConfig = listener.systemConfig.get();
      if (systemConfig == null) {
        throw new IllegalStateException("Qpid started without a system config");
      }
      Broker<?> broker = (Broker<?>) systemConfig.getContainer();
      int boundPort = boundAmqpPort(broker);
      awaitActiveVirtualHost(broker);
      EmbeddedAmqpBroker started = new EmbeddedAmqpBroker(launcher, workDir, boundPort);
      Runtime.getRuntime().addShutdownHook(started.shutdownHook);
      return started;
    } catch (Exception | Error e) {
      try {
        launcher.shutdown();
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      WorkDirectories.deleteRecursively(workDir, log);
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      if (e instanceof Error error) {
        throw error;
      }
      throw new IllegalStateException("embedded AMQP broker (Qpid Broker-J) failed to start on "
          + HOST + ":" + port + ": " + e.getMessage(), e);
    }
  }

  /** The TCP port the broker accepts AMQP connections on (on {@link #HOST}). */
  public int port() {
    return port;
  }

  /** {@value #HOST}. */
  public String host() {
    return HOST;
  }

  /** An {@code amqp://} URI for {@link #USERNAME} on the default virtual host. */
  public String uri() {
    return "amqp://" + USERNAME + ":" + PASSWORD + "@" + HOST + ":" + port + "/%2F";
  }

  /**
   * Stops the broker (clients see their connections closed) and deletes its work directory. Idempotent; safe to
   * call from any thread, including a shutdown hook.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException | IllegalArgumentException alreadyShuttingDownOrRemoved) {
      // Called from the hook itself, or the JVM is exiting: nothing to unregister.
    }
    try {
      launcher.shutdown();
    } finally {
      WorkDirectories.deleteRecursively(workDir, log);
    }
  }

  @Override
  public String toString() {
    return "EmbeddedAmqpBroker[" + HOST + ":" + port + "]";
  }

  private static Map<String, Object> initialConfiguration(int port) {
    Map<String, Object> plainAuth = Map.of(
        "name", "plain",
        "type", "Plain",
        "secureOnlyMechanisms", List.of(),
        "users", List.of(Map.of("name", USERNAME, "type", "managed", "password", PASSWORD)));
    Map<String, Object> amqpPort = Map.of(
        "name", "AMQP",
        "type", "AMQP",
        "port", port,
        "bindingAddress", HOST,
        "authenticationProvider", "plain",
        // Qpid sizes its pools for a production server (tens of threads); a test/demo broker needs few.
        "threadPoolSize", 2,
        "numberOfSelectors", 1,
        "virtualhostaliases", List.of(
            Map.of("name", "defaultAlias", "type", "defaultAlias"),
            Map.of("name", "nameAlias", "type", "nameAlias")));
    Map<String, Object> node = Map.of(
        "name", VIRTUAL_HOST,
        "type", "Memory",
        "defaultVirtualHostNode", true,
        // The node creates its virtual host (named like the node) from this blueprint on first start.
        "virtualHostInitialConfiguration", "{\"type\": \"Memory\", \"connectionThreadPoolSize\": 4,"
            + " \"numberOfSelectors\": 1, \"houseKeepingThreadCount\": 1}");
    return Map.of(
        "name", "pgamqp-embedded",
        "modelVersion", "9.1",
        "authenticationproviders", List.of(plainAuth),
        "ports", List.of(amqpPort),
        "virtualhostnodes", List.of(node));
  }

  private static Map<String, Object> systemConfigAttributes(Path workDir, Path initialConfig) {
    Map<String, Object> attributes = new HashMap<>();
    attributes.put(SystemConfig.TYPE, "Memory");
    attributes.put(SystemConfig.INITIAL_CONFIGURATION_LOCATION, initialConfig.toAbsolutePath().toString());
    attributes.put(SystemConfig.STARTUP_LOGGED_TO_SYSTEM_OUT, false);
    // Keep Qpid's files (there should be none with memory stores) out of the current directory and ~.
    attributes.put(SystemConfig.CONTEXT, Map.of(
        SystemConfig.QPID_WORK_DIR, workDir.toAbsolutePath().toString(),
        "qpid.home_dir", workDir.toAbsolutePath().toString()));
    attributes.put("preferenceStoreAttributes", "{\"type\": \"Noop\"}");
    return attributes;
  }

  private static int boundAmqpPort(Broker<?> broker) {
    for (Port<?> port : broker.getChildren(Port.class)) {
      if (port instanceof AmqpPort<?> amqp) {
        if (amqp.getState() != State.ACTIVE || amqp.getBoundPort() <= 0) {
          throw new IllegalStateException("AMQP port is " + amqp.getState() + " (is the port in use?)");
        }
        return amqp.getBoundPort();
      }
    }
    throw new IllegalStateException("Qpid started without an AMQP port");
  }

  private static void awaitActiveVirtualHost(Broker<?> broker) throws InterruptedException {
    long deadline = System.nanoTime() + ACTIVATION_WAIT.toNanos();
    while (true) {
      VirtualHostNode<?> node = broker.findDefautVirtualHostNode();
      VirtualHost<?> host = node == null ? null : node.getVirtualHost();
      if (host != null && host.getState() == State.ACTIVE) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("virtual host '" + VIRTUAL_HOST + "' not active after "
            + ACTIVATION_WAIT.toSeconds() + " s (node "
            + (node == null ? "missing" : node.getState()) + ")");
      }
      Thread.sleep(20);
    }
  }

  /** Captures what {@link SystemLauncher#startup} reports only to its listener. */
  private static final class StartupListener implements SystemLauncherListener {
    final AtomicReference<SystemConfig<?>> systemConfig = new AtomicReference<>();
    final AtomicReference<RuntimeException> failure = new AtomicReference<>();

    @Override
    public void beforeStartup() {
    }

    @Override
    public void errorOnStartup(RuntimeException e) {
      failure.set(e);
    }

    @Override
    public void afterStartup() {
    }

    @Override
    public void onContainerResolve(SystemConfig<?> config) {
      systemConfig.set(config);
    }

    @Override
    public void onContainerClose(SystemConfig<?> config) {
    }

    @Override
    public void onShutdown(int exitStatusCode) {
    }

    @Override
    public void exceptionOnShutdown(Exception e) {
    }
  }
}
