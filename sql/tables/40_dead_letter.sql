-- amqp.dead_letter: outbox rows the bridge gave up on (unroutable, rejected, too many attempts),
-- kept with the reason so that they can be inspected and replayed.

create table if not exists amqp.dead_letter (
    id bigint generated always as identity primary key,
    outbox_id bigint not null,
    message_id text not null,   -- the AMQP message-id that was used; a replay keeps it
    broker_id integer not null,
    exchange text not null,
    routing_key text not null,
    body text,
    delivery_mode smallint not null,
    content_type text,
    reply_to text,
    correlation_id text,
    created_at timestamptz not null,
    dead_lettered_at timestamptz not null default pg_catalog.now(),
    attempts integer not null,
    reason text not null
);

comment on table amqp.dead_letter is
'Messages the bridge could not deliver, with the reason; replay by inserting them into amqp.outbox '
'with message_id set.';
