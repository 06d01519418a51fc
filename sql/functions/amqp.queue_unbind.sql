-- amqp.queue_unbind: record the removal of a binding of queue to exchange (pending) and queue it for the bridge,
-- which applies it on the broker once this transaction commits, before any later message of that broker. Returns
-- true; bad input raises an ERROR.

-- The binding is named as amqp.queue_bind named it (same routing_key and arguments). Its record stays in
-- amqp.topology as kind queue_unbind while pending (or failed) and goes once the broker removed the binding, so
-- reconnects no longer bind it. Unbinding what is not bound is no error (the broker says ok).
create or replace function amqp.queue_unbind(
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
    select amqp.declaration_request('amqp.queue_unbind', queue_unbind.broker_id, 'queue_binding',
        queue_unbind.queue, queue_unbind.exchange, queue_unbind.routing_key,
        queue_unbind.arguments, null::boolean, null::boolean, true)
$fn$;

comment on function amqp.queue_unbind(integer, varchar, varchar, varchar, jsonb) is
'Removes the binding of queue to exchange (routing_key, arguments) when the calling transaction commits; while '
'pending it shows in amqp.topology as queue_unbind. Returns true.';
