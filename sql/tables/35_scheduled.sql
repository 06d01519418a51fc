-- amqp.scheduled: messages published with a deliver_at in the future, waiting for it; and messages the broker
-- refused once, waiting for their own retry (the bridge defers them here so that they hold back nothing). The
-- bridge moves the due ones into amqp.outbox (amqp.scheduled_release), where they get their outbox id, and so their
-- place in the order, when they fall due: a delayed message never holds back the messages published after it, and messages due next week are
-- not in the table the bridge claims from, so they cost the drain of messages due now nothing (no index entries to
-- step over, no rows to re-read) and create no dead rows until they leave (PgQ keeps its delayed events apart from
-- its queue for the same reasons).

create table if not exists amqp.scheduled (
    id bigint generated always as identity,
    broker_id integer not null,
    deliver_at timestamptz not null,
    -- The outbox's message columns (see amqp.outbox), moved there unchanged.
    exchange text not null,
    routing_key text not null,
    body text,
    delivery_mode smallint not null,
    content_type text,
    reply_to text,
    correlation_id text,
    message_id text,
    created_at timestamptz not null default pg_catalog.now(),
    body_bytes bytea,
    headers jsonb,
    type text,
    app_id text,
    expiration_ms bigint,
    priority smallint,
    content_encoding text,
    -- A message the broker refused once (amqp.outbox_defer) waits here for its own retry: its attempts so far and why.
    attempts integer not null default 0,
    last_error text,
    -- The only index: the release reads a broker's due rows in due order (and amqp.status the next due time).
    primary key (broker_id, deliver_at, id)
);

comment on table amqp.scheduled is
'Messages published with deliver_at in the future, and refused messages waiting for their retry; moved into '
'amqp.outbox when due.';

-- Installs from before the retry columns get them here (catalog first, as for amqp.outbox).
do $$
begin
    if not exists (select from pg_catalog.pg_attribute a
                    where a.attrelid = 'amqp.scheduled'::pg_catalog.regclass and a.attname = 'attempts'
                      and not a.attisdropped) then
        alter table amqp.scheduled add column attempts integer not null default 0, add column last_error text;
    end if;
end
$$;
