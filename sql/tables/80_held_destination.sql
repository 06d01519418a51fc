-- amqp.held_destination: destinations (exchanges) a broker refused for a reason of their own, as the bridge that
-- owns the broker holds them: their messages wait in amqp.outbox, in order, while every other destination flows
-- (see pgamqp.bridge.hold-timeout). Written by the bridge; kept here so that amqp.status can show them and a bridge
-- that takes over keeps counting hold-timeout from the first refusal.

create table if not exists amqp.held_destination (
    broker_id integer not null,
    exchange text not null,
    since timestamptz not null,       -- when the broker first refused it
    last_error text not null,         -- the broker's words
    expired boolean not null default false,  -- held longer than hold-timeout: its messages are dead-lettered
    constraint held_destination_pkey primary key (broker_id, exchange)
);

comment on table amqp.held_destination is
'Exchanges the bridge holds back because the broker refused them (e.g. missing); their messages wait in order.';
