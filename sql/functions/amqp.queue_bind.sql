-- amqp.queue_bind: record a binding of queue to exchange (pending) and queue it for the bridge, which applies it
-- on the broker once this transaction commits, before any later message of that broker. Returns true; bad input
-- raises an ERROR.

-- Re-applied after every reconnect (after the exchanges and queues); arguments are the binding's (e.g. for a
-- headers exchange: '{"x-match": "all", "region": "eu"}'). Its outcome shows in amqp.topology.
create or replace function amqp.queue_bind(
    broker_id integer,
    queue varchar,
    exchange varchar,
    routing_key varchar default '',
    arguments jsonb default null)
returns boolean
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $fn$
    select amqp.declaration_request('amqp.queue_bind', queue_bind.broker_id, 'queue_binding', queue_bind.queue,
        queue_bind.exchange, queue_bind.routing_key, queue_bind.arguments, null::boolean, null::boolean,
        false)
$fn$;

comment on function amqp.queue_bind(integer, varchar, varchar, varchar, jsonb) is
'Binds queue to exchange with routing_key and arguments when the calling transaction commits and after every '
'reconnect; see amqp.topology. Returns true.';
