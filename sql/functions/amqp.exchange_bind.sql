-- amqp.exchange_bind: record a binding of exchange destination to exchange source (pending) and queue it for the
-- bridge, which applies it on the broker once this transaction commits, before any later message of that broker.
-- Returns true; bad input raises an ERROR.

-- Messages reaching source that match routing_key (and arguments) are routed on by destination as if published
-- to it. Re-applied after every reconnect (after the exchanges and queues); its outcome shows in amqp.topology.
create or replace function amqp.exchange_bind(
    broker_id integer,
    destination varchar,
    source varchar,
    routing_key varchar default '',
    arguments jsonb default null)
returns boolean
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $fn$
    select amqp.declaration_request('amqp.exchange_bind', exchange_bind.broker_id, 'exchange_binding',
        exchange_bind.destination, exchange_bind.source, exchange_bind.routing_key,
        exchange_bind.arguments, null::boolean, null::boolean, false)
$fn$;

comment on function amqp.exchange_bind(integer, varchar, varchar, varchar, jsonb) is
'Binds exchange destination to exchange source with routing_key and arguments when the calling transaction '
'commits and after every reconnect; see amqp.topology. Returns true.';
