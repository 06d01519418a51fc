-- amqp.broker: where the bridge connects, exactly pg_amqp's table so existing INSERTs keep working.
-- Several rows with one broker_id form that broker's failover list.

create table if not exists amqp.broker (
    broker_id serial not null,
    host text not null,
    port integer not null default 5672,
    vhost text,         -- null = '/'
    username text,      -- null = guest
    password text,      -- null = guest; plaintext, as in pg_amqp: only the owner may read the table
                        -- (or set pgamqp.brokers."<broker_id>".password in the bridge's configuration)
    -- pgamqp's additions, per address (a failover list may mix amqps on 5671 and plain AMQP):
    tls boolean not null default false,             -- connect with TLS (amqps)
    tls_verify boolean not null default true,       -- check the certificate chain and the host name
    tls_server_name text,                           -- the name the certificate must carry; null = host
    primary key (broker_id, host, port)
);

-- Installs older than the TLS columns get them here (catalog first: see 00_schema.sql).
do $$
declare
    v_missing text;
begin
    select pg_catalog.string_agg(pg_catalog.format('add column %I %s', c.name, c.type), ', ' order by c.n)
      into v_missing
      from (values (1, 'tls', 'boolean not null default false'),
                   (2, 'tls_verify', 'boolean not null default true'),
                   (3, 'tls_server_name', 'text')) as c(n, name, type)
     where not exists (select from pg_catalog.pg_attribute a
                        where a.attrelid = 'amqp.broker'::pg_catalog.regclass
                          and a.attname = c.name and a.attnum > 0 and not a.attisdropped);
    if v_missing is not null then
        execute 'alter table amqp.broker ' || v_missing;
    end if;
end
$$;

comment on table amqp.broker is
'AMQP brokers (pg_amqp compatible). Rows sharing a broker_id are one broker''s failover list. '
'Changes are mirrored into amqp.broker_state and announced on channel amqp_broker_changed.';
