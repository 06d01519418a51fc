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
    reason text not null,
    -- As in amqp.outbox (added there at the same time): a replay restores every field.
    body_bytes bytea,
    headers jsonb,
    type text,
    app_id text,
    expiration_ms bigint,
    priority smallint,
    content_encoding text
);

-- Installs older than the fidelity columns get them here (catalog first, as for amqp.outbox).
do $$
declare
    v_missing text;
begin
    select pg_catalog.string_agg(pg_catalog.format('add column %I %s', c.name, c.type), ', ' order by c.n)
      into v_missing
      from (values (1, 'body_bytes', 'bytea'), (2, 'headers', 'jsonb'), (3, 'type', 'text'), (4, 'app_id', 'text'),
                   (5, 'expiration_ms', 'bigint'), (6, 'priority', 'smallint'), (7, 'content_encoding', 'text'))
           as c(n, name, type)
     where not exists (select from pg_catalog.pg_attribute a
                        where a.attrelid = 'amqp.dead_letter'::pg_catalog.regclass
                          and a.attname = c.name and a.attnum > 0 and not a.attisdropped);
    if v_missing is not null then
        execute 'alter table amqp.dead_letter ' || v_missing;
    end if;
end
$$;

-- Per broker, in id order: amqp.status counts a broker's dead letters from it (index-only) and
-- amqp.dead_letter_replay/purge find them with it. The table is written only on failures, so the
-- index costs nothing on the hot path, and a pile of dead letters is exactly when status is read.
-- Looked up first: `create index if not exists` takes a SHARE lock even when the index exists,
-- which would hold up the bridge's dead-lettering for the rest of the install transaction.
do $$
begin
    if pg_catalog.to_regclass('amqp.dead_letter_broker_id_id') is null then
        create index dead_letter_broker_id_id on amqp.dead_letter (broker_id, id);
    end if;
end
$$;

comment on table amqp.dead_letter is
'Messages the bridge could not deliver, with the reason. amqp.dead_letter_replay() sends them again '
'(same message_id), amqp.dead_letter_purge() deletes them.';
