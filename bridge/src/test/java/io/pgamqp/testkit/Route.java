package io.pgamqp.testkit;

/**
 * A direct exchange and a queue bound to it under one routing key, with names no other test uses; declared through the
 * test's {@link AmqpTestClient}, which deletes them on close. Immutable.
 */
public record Route(String exchange, String queue, String routingKey) {

  /** Declares a route named after {@code prefix}, with routing key "k". */
  public static Route declare(AmqpTestClient amqp, String prefix) {
    Route r = new Route(amqp.uniqueName(prefix + "-x"), amqp.uniqueName(prefix + "-q"), "k");
    amqp.declareExchange(r.exchange(), "direct");
    amqp.declareQueue(r.queue());
    amqp.bind(r.queue(), r.exchange(), r.routingKey());
    return r;
  }
}
