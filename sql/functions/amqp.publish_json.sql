-- amqp.publish_json: amqp.publish for a jsonb payload: the body is the payload's JSON text and content_type is
-- application/json unless given. Sent only if this transaction commits. Returns true; bad input raises an ERROR
-- with a HINT and queues nothing.

-- Inlined into the caller's query as amqp.publish is (plain SQL, no SET); amqp.enqueue does the work.
-- Earlier versions had no deliver_at; that signature goes (looked up first, as in amqp.publish).
do $$
begin
    if pg_catalog.to_regprocedure('amqp.publish_json(integer, varchar, varchar, jsonb, integer, varchar, varchar, varchar, '
            || 'jsonb, varchar, varchar, varchar, interval, integer, varchar)') is not null then
        drop function amqp.publish_json(integer, varchar, varchar, jsonb, integer, varchar, varchar, varchar, jsonb,
            varchar, varchar, varchar, interval, integer, varchar);
    end if;
end
$$;

create or replace function amqp.publish_json(
    broker_id integer,
    exchange varchar,
    routing_key varchar,
    payload jsonb,
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
    select amqp.enqueue('amqp.publish_json', publish_json.broker_id, publish_json.exchange, publish_json.routing_key,
        publish_json.payload::text, null::bytea, publish_json.delivery_mode,
        coalesce(publish_json.content_type, 'application/json'), publish_json.reply_to, publish_json.correlation_id,
        publish_json.headers, publish_json.message_id, publish_json.type, publish_json.app_id,
        publish_json.expiration, publish_json.priority, publish_json.content_encoding,
        publish_json.deliver_at)
$fn$;

comment on function amqp.publish_json(integer, varchar, varchar, jsonb, integer, varchar, varchar, varchar, jsonb,
    varchar, varchar, varchar, interval, integer, varchar, timestamptz) is
'Publishes payload''s JSON text (content_type application/json unless given) when the calling transaction '
'commits; the other parameters as in amqp.publish. Returns true; invalid input raises an error.';
