-- amqp.message_is_bad: whether one message's arguments break any rule amqp.message_refuse explains (true), or pass
-- them all (null or false). Returns boolean. Internal, for amqp.publish and amqp.enqueue.

-- One expression, in plain SQL, so that PostgreSQL inlines it into its callers' cached PL/pgSQL expression: a
-- message that passes costs no function call of its own (every call or statement costs the publishing transaction
-- about a microsecond; publish's cost is measured against a plain INSERT). The rules, each explained by
-- amqp.message_refuse: broker_id, exchange, routing_key and a body present; AMQP short strings at most 255 bytes;
-- delivery_mode 1, 2 or null; priority 0-255; expiration not negative.
create or replace function amqp.message_is_bad(
    broker_id integer,
    exchange varchar,
    routing_key varchar,
    has_body boolean,
    delivery_mode integer,
    content_type varchar,
    reply_to varchar,
    correlation_id varchar,
    message_id varchar,
    type varchar,
    app_id varchar,
    content_encoding varchar,
    expiration interval,
    priority integer)
returns boolean
language sql
immutable
as $fn$
    select message_is_bad.broker_id is null or message_is_bad.exchange is null or message_is_bad.routing_key is null
        or not message_is_bad.has_body
        or pg_catalog.octet_length(message_is_bad.exchange) > 255
        or pg_catalog.octet_length(message_is_bad.routing_key) > 255
        or pg_catalog.octet_length(message_is_bad.content_type) > 255
        or pg_catalog.octet_length(message_is_bad.reply_to) > 255
        or pg_catalog.octet_length(message_is_bad.correlation_id) > 255
        or pg_catalog.octet_length(message_is_bad.message_id) > 255
        or pg_catalog.octet_length(message_is_bad.type) > 255
        or pg_catalog.octet_length(message_is_bad.app_id) > 255
        or pg_catalog.octet_length(message_is_bad.content_encoding) > 255
        or message_is_bad.delivery_mode not in (1, 2)
        or message_is_bad.priority not between 0 and 255
        or message_is_bad.expiration < interval '0'
$fn$;

comment on function amqp.message_is_bad(integer, varchar, varchar, boolean, integer, varchar, varchar, varchar, varchar,
    varchar, varchar, varchar, interval, integer) is
'Internal: true when a message''s arguments break a rule that amqp.message_refuse explains; inlined into publish.';
