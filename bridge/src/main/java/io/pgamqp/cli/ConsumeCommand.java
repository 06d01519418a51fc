package io.pgamqp.cli;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ShutdownSignalException;
import com.typesafe.config.Config;
import io.pgamqp.broker.AmqpConnector;
import io.pgamqp.broker.BrokerCatalog;
import io.pgamqp.config.BridgeSettings;
import io.pgamqp.config.ChosenDatabase;
import io.pgamqp.config.DatabaseSettings;
import io.pgamqp.config.PgamqpConfig;
import io.pgamqp.outbox.SlickDatabase;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code consume QUEUE}: the one-line consumer of a first message. Connects to a broker of {@code amqp.broker} exactly
 * as the bridge does, declares {@code QUEUE} (durable), binds it when asked, prints {@code ready: ...} and then every
 * message as it arrives, acking it. Exit 0 after {@code --count} messages, 1 when {@code --timeout} passed first or
 * the broker is unreachable, 2 on a bad option.
 */
final class ConsumeCommand {
  static final String USAGE = """
      usage: pgamqp consume QUEUE [--bind EXCHANGE[:ROUTING_KEY]] [--broker ID] [--count N] [--timeout SECONDS]
        declares QUEUE (durable) on broker ID of amqp.broker (default 1), binds it to EXCHANGE with ROUTING_KEY
        (default: the queue name) when --bind is given, prints 'ready: ...', then each message as it arrives:
        'EXCHANGE ROUTING_KEY BODY'. Without --count it runs until Ctrl-C.""";

  /** Parsed options. */
  record Options(String queue, String exchange, String routingKey, int brokerId, int count, double timeoutSeconds) {
    static Options parse(String[] args) {
      String queue = null;
      String exchange = null;
      String key = null;
      int broker = 1;
      int count = -1;
      double timeout = -1;
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        switch (a) {
          case "--bind" -> {
            String b = value(args, ++i, a);
            int colon = b.indexOf(':');
            exchange = colon < 0 ? b : b.substring(0, colon);
            key = colon < 0 ? null : b.substring(colon + 1);
          }
          case "--broker" -> broker = positive(value(args, ++i, a), a);
          case "--count" -> count = positive(value(args, ++i, a), a);
          case "--timeout" -> {
            try {
              timeout = Double.parseDouble(value(args, ++i, a));
            } catch (NumberFormatException e) {
              throw new IllegalArgumentException("--timeout takes a number of seconds");
            }
            if (!(timeout > 0)) {
              throw new IllegalArgumentException("--timeout takes a number of seconds greater than 0");
            }
          }
          default -> {
            if (a.startsWith("-") || queue != null) {
              throw new IllegalArgumentException("unknown option '" + a + "'");
            }
            queue = a;
          }
        }
      }
      if (queue == null || queue.isEmpty()) {
        throw new IllegalArgumentException("name the queue to consume from");
      }
      return new Options(queue, exchange, key == null ? queue : key, broker, count, timeout);
    }

    private static String value(String[] args, int i, String option) {
      if (i >= args.length) {
        throw new IllegalArgumentException(option + " needs a value");
      }
      return args[i];
    }

    private static int positive(String s, String option) {
      try {
        int n = Integer.parseInt(s);
        if (n > 0) {
          return n;
        }
      } catch (NumberFormatException ignored) {
        // below
      }
      throw new IllegalArgumentException(option + " takes a whole number greater than 0, was '" + s + "'");
    }
  }

  private ConsumeCommand() {}

  static int run(String[] args) throws Exception {
    return run(args, PgamqpConfig.load(), System.out, System.err);
  }

  static int run(String[] args, Config config, PrintStream out, PrintStream err) throws Exception {
    Options o;
    try {
      o = Options.parse(args);
    } catch (IllegalArgumentException e) {
      err.println("pgamqp consume: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    DatabaseSettings dbSettings = DatabaseSettings.create(config);
    BrokerCatalog.BrokerConfig broker;
    try (SlickDatabase db = SlickDatabase.create(dbSettings, "pgamqp-consume")) {
      broker = new BrokerCatalog(db).brokers().toCompletableFuture().get(30, TimeUnit.SECONDS).get(o.brokerId());
    }
    if (broker == null) {
      err.println("pgamqp consume: no broker_id " + o.brokerId() + " in amqp.broker of "
          + ChosenDatabase.describe(config, dbSettings) + " (add one, or pass --broker ID)");
      return 1;
    }
    AmqpConnector.Opened opened;
    try {
      opened = AmqpConnector.connect(broker.endpoints(), BridgeSettings.create(config));
    } catch (Exception e) {
      err.println("pgamqp consume: cannot connect to broker " + o.brokerId() + ": " + e.getMessage());
      return 1;
    }
    try (Connection connection = opened.connection()) {
      Channel ch = declare(connection, o, err);
      if (ch == null) {
        return 1;
      }
      ch.basicQos(100);
      CountDownLatch done = new CountDownLatch(o.count() > 0 ? o.count() : Integer.MAX_VALUE);
      AtomicInteger received = new AtomicInteger();
      ch.basicConsume(o.queue(), false, (tag, d) -> {
        synchronized (out) {
          out.println(d.getEnvelope().getExchange() + " " + d.getEnvelope().getRoutingKey() + " "
              + new String(d.getBody(), StandardCharsets.UTF_8));
          out.flush();
        }
        ch.basicAck(d.getEnvelope().getDeliveryTag(), false);
        received.incrementAndGet();
        done.countDown();
      }, tag -> done.countDown());
      out.println("ready: consuming queue " + o.queue() + " on " + opened.endpoint().describe()
          + (o.exchange() == null ? "" : ", bound to exchange " + o.exchange() + " with routing key "
              + o.routingKey()));
      out.flush();
      boolean all = o.timeoutSeconds() > 0
          ? done.await(Math.round(o.timeoutSeconds() * 1000), TimeUnit.MILLISECONDS)
          : awaitForever(done);
      if (!all) {
        err.println("pgamqp consume: " + received.get() + " of " + o.count() + " message(s) within "
            + o.timeoutSeconds() + " s");
        return 1;
      }
      return 0;
    }
  }

  /**
   * Declares the queue and binds it. A missing exchange is waited for (up to {@code --timeout}, else 60 s): the bridge
   * declares the exchanges of {@code amqp.exchange_declare} when it connects, which may be a moment after this starts.
   */
  private static Channel declare(Connection connection, Options o, PrintStream err) throws Exception {
    long deadline = System.nanoTime() + (long) ((o.timeoutSeconds() > 0 ? o.timeoutSeconds() : 60) * 1e9);
    boolean said = false;
    while (true) {
      Channel ch = connection.createChannel();
      ch.queueDeclare(o.queue(), true, false, false, null);
      if (o.exchange() == null) {
        return ch;
      }
      try {
        ch.queueBind(o.queue(), o.exchange(), o.routingKey());
        return ch;
      } catch (IOException e) {
        // The broker closes the channel: 404 NOT_FOUND when the exchange does not exist (yet).
        String why = e.getCause() instanceof ShutdownSignalException s ? s.getReason().toString() : e.toString();
        if (!why.contains("404") || System.nanoTime() > deadline) {
          err.println("pgamqp consume: cannot bind queue " + o.queue() + " to exchange " + o.exchange() + ": "
              + why);
          return null;
        }
        if (!said) {
          err.println("pgamqp consume: exchange " + o.exchange() + " does not exist yet; waiting for it"
              + " (the bridge declares what amqp.exchange_declare recorded when it connects)");
          said = true;
        }
        Thread.sleep(200);
      }
    }
  }

  private static boolean awaitForever(CountDownLatch done) throws InterruptedException {
    done.await();
    return true;
  }
}
