package io.pgamqp.outbox;

/** A row of {@code amqp.exchange_declaration}: what {@code amqp.exchange_declare} asked for. Immutable. */
public record ExchangeDeclaration(
    String exchange, String type, boolean passive, boolean durable, boolean autoDelete) {}
