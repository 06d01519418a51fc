-- amqp.exchange_declaration: exchanges requested by amqp.exchange_declare(), with the outcome of
-- applying them on the broker (status, applied_at, last_error are written by the bridge). 'declared' is what
-- amqp.topology shows as applied (the status predates that view; bridges and scripts read it).

create table if not exists amqp.exchange_declaration (
    broker_id integer not null,
    exchange text not null,
    exchange_type text not null,
    passive boolean not null,
    durable boolean not null,
    auto_delete boolean not null,
    requested_at timestamptz not null default pg_catalog.now(),
    status text not null default 'pending' check (status in ('pending', 'declared', 'failed')),
    applied_at timestamptz,
    last_error text,
    arguments jsonb,    -- x-arguments (e.g. alternate-exchange), a JSON object or null; last, where an upgrade adds it
    constraint exchange_declaration_pkey primary key (broker_id, exchange)
);

comment on table amqp.exchange_declaration is
'Exchange declarations requested through amqp.exchange_declare() and their status on the broker.';

-- Installs older than exchange arguments get the column here (looked up first: an ALTER takes an ACCESS EXCLUSIVE
-- lock, queueing publishers).
do $$
begin
    if not exists (select from pg_catalog.pg_attribute a
                    where a.attrelid = 'amqp.exchange_declaration'::pg_catalog.regclass
                      and a.attname = 'arguments' and a.attnum > 0 and not a.attisdropped) then
        alter table amqp.exchange_declaration add column arguments jsonb;
    end if;
end
$$;
