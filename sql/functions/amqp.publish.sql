-- amqp.publish: queue a message in amqp.outbox; the bridge sends it only if this transaction commits.
-- Returns true (bad input raises an ERROR with a HINT and queues nothing). pg_amqp compatible: its four
-- parameters first, then pgamqp's four properties, then the optional fields of every AMQP message.

-- A plain SQL function without SET or SECURITY DEFINER, so PostgreSQL inlines it into the caller's query: the
-- work (as the owner) is amqp.enqueue's, and the wrapper costs no call of its own. Earlier versions had eight
-- parameters; that signature goes, or a 4- to 8-argument call would match both.
-- (Looked up first: a DROP ... IF EXISTS would print a notice on every fresh install.)
do $$
begin
    if pg_catalog.to_regprocedure('amqp.publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar)') is not null then
        drop function amqp.publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar);
    end if;
end
$$;

create or replace function amqp.publish(
    broker_id integer,
    exchange varchar,
    routing_key varchar,
    message varchar,
    delivery_mode integer default null,
    content_type varchar default null,
    reply_to varchar default null,
    correlation_id varchar default null,
    headers jsonb default null,
    message_id varchar default null,
    type varchar default null,
    app_id varchar default null,
    expiration interval default null,
    priority integer default null,
    content_encoding varchar default null)
returns boolean
language sql
volatile
as $fn$
    select amqp.enqueue('amqp.publish', publish.broker_id, publish.exchange, publish.routing_key, publish.message,
        null::bytea, publish.delivery_mode, publish.content_type, publish.reply_to, publish.correlation_id,
        publish.headers, publish.message_id, publish.type, publish.app_id, publish.expiration, publish.priority,
        publish.content_encoding)
$fn$;

comment on function amqp.publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar, jsonb,
    varchar, varchar, varchar, interval, integer, varchar) is
'Publishes a message (broker_id, exchange, routing_key, message, delivery_mode, content_type, reply_to, '
'correlation_id; optional headers jsonb, message_id, type, app_id, expiration, priority, content_encoding) when '
'the calling transaction commits; nothing is sent if it (or the savepoint) rolls back. delivery_mode: 1 transient, '
'2 or NULL persistent. set local amqp.traceparent adds the W3C trace context. Returns true; invalid input raises '
'an error.';
