-- amqp.publish_bytes: amqp.publish for a binary body, sent byte for byte (any bytes, NULs included);
-- content_type is application/octet-stream unless given. Sent only if this transaction commits. Returns true; bad
-- input raises an ERROR with a HINT and queues nothing.

-- Inlined into the caller's query as amqp.publish is (plain SQL, no SET); amqp.enqueue does the work.
-- Earlier versions had no deliver_at; that signature goes (looked up first, as in amqp.publish).
do $$
begin
    if pg_catalog.to_regprocedure('amqp.publish_bytes(integer, varchar, varchar, bytea, integer, varchar, varchar, varchar, '
            || 'jsonb, varchar, varchar, varchar, interval, integer, varchar)') is not null then
        drop function amqp.publish_bytes(integer, varchar, varchar, bytea, integer, varchar, varchar, varchar, jsonb,
            varchar, varchar, varchar, interval, integer, varchar);
    end if;
end
$$;

create or replace function amqp.publish_bytes(
    broker_id integer,
    exchange varchar,
    routing_key varchar,
    body bytea,
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
    content_encoding varchar default null,
    deliver_at timestamptz default null)
returns boolean
language sql
volatile
as $fn$
    select amqp.enqueue('amqp.publish_bytes', publish_bytes.broker_id, publish_bytes.exchange,
        publish_bytes.routing_key, null::varchar, publish_bytes.body, publish_bytes.delivery_mode,
        coalesce(publish_bytes.content_type, 'application/octet-stream'), publish_bytes.reply_to,
        publish_bytes.correlation_id, publish_bytes.headers, publish_bytes.message_id, publish_bytes.type,
        publish_bytes.app_id, publish_bytes.expiration, publish_bytes.priority, publish_bytes.content_encoding,
        publish_bytes.deliver_at)
$fn$;

comment on function amqp.publish_bytes(integer, varchar, varchar, bytea, integer, varchar, varchar, varchar, jsonb,
    varchar, varchar, varchar, interval, integer, varchar, timestamptz) is
'Publishes body byte for byte (content_type application/octet-stream unless given) when the calling transaction '
'commits; the other parameters as in amqp.publish. Returns true; invalid input raises an error.';
