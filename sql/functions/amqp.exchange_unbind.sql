-- amqp.exchange_unbind: record the removal of a binding of exchange destination to exchange source (pending) and
-- queue it for the bridge, which applies it on the broker once this transaction commits, before any later message
-- of that broker. Returns true; bad input raises an ERROR.

-- The binding is named as amqp.exchange_bind named it (same routing_key and arguments). Its record stays in
-- amqp.topology as kind exchange_unbind while pending (or failed) and goes once the broker removed the binding, so
-- reconnects no longer bind it.
create or replace function amqp.exchange_unbind(
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
    select amqp.declaration_request('amqp.exchange_unbind', exchange_unbind.broker_id, 'exchange_binding',
        exchange_unbind.destination, exchange_unbind.source,
        exchange_unbind.routing_key, exchange_unbind.arguments, null::boolean, null::boolean, true)
$fn$;

comment on function amqp.exchange_unbind(integer, varchar, varchar, varchar, jsonb) is
'Removes the binding of exchange destination to exchange source (routing_key, arguments) when the calling '
'transaction commits; while pending it shows in amqp.topology as exchange_unbind. Returns true.';
