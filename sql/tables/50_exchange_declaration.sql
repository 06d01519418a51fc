-- amqp.exchange_declaration: exchanges requested by amqp.exchange_declare(), with the outcome of
-- applying them on the broker (status, applied_at, last_error are written by the bridge).

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
    constraint exchange_declaration_pkey primary key (broker_id, exchange)
);

comment on table amqp.exchange_declaration is
'Exchange declarations requested through amqp.exchange_declare() and their status on the broker.';
