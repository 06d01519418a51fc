-- amqp.broker: where the bridge connects, exactly pg_amqp's table so existing INSERTs keep working.
-- Several rows with one broker_id form that broker's failover list.

create table if not exists amqp.broker (
    broker_id serial not null,
    host text not null,
    port integer not null default 5672,
    vhost text,         -- null = '/'
    username text,      -- null = guest
    password text,      -- null = guest; plaintext, as in pg_amqp: only the owner may read the table
    primary key (broker_id, host, port)
);

comment on table amqp.broker is
'AMQP brokers (pg_amqp compatible). Rows sharing a broker_id are one broker''s failover list. '
'Changes are mirrored into amqp.broker_state and announced on channel amqp_broker_changed.';
