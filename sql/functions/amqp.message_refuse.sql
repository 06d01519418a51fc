-- amqp.message_refuse: raises the ERROR (with a HINT) for the first rule of amqp.message_is_bad that one message's
-- arguments break, naming fn, the public function called; returns normally when none is broken. Internal, for
-- amqp.publish and amqp.enqueue, which call it only when amqp.message_is_bad says so.

-- Neither SECURITY DEFINER nor SET: it runs only inside those SECURITY DEFINER functions, whose search_path is
-- pinned already (EXECUTE for nobody else, see grants.sql).
create or replace function amqp.message_refuse(
    fn text,
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
returns void
language plpgsql
volatile
as $fn$
declare
    v_field text;
    v_field_bytes integer;
begin
    -- The rules in amqp.message_is_bad's order; the first broken one is raised.
    if message_refuse.broker_id is null or message_refuse.exchange is null or message_refuse.routing_key is null
            or not message_refuse.has_body then
        if message_refuse.broker_id is null then
            raise exception using errcode = '22004',
                message = message_refuse.fn || ': broker_id must not be null',
                hint = 'pass the broker_id of a row in amqp.broker';
        elsif message_refuse.exchange is null then
            raise exception using errcode = '22004',
                message = message_refuse.fn || ': exchange must not be null',
                hint = 'pass '''' (empty string) to publish to the default exchange';
        elsif message_refuse.routing_key is null then
            raise exception using errcode = '22004',
                message = message_refuse.fn || ': routing_key must not be null',
                hint = 'pass '''' (empty string) for an empty routing key';
        else
            raise exception using errcode = '22004',
                message = message_refuse.fn || ': '
                    || case message_refuse.fn when 'amqp.publish_json' then 'payload'
                                              when 'amqp.publish_bytes' then 'body'
                                              else 'message' end || ' must not be null',
                hint = case message_refuse.fn when 'amqp.publish_json' then 'pass ''null''::jsonb for a JSON null'
                                              when 'amqp.publish_bytes' then 'pass ''''::bytea for an empty body'
                                              else 'pass '''' (empty string) for an empty body' end;
        end if;
    end if;
    -- AMQP 0-9-1 carries these as shortstr (a length byte): the client library refuses anything longer at
    -- publish time, so catch it here, where the caller still can. Bytes, not characters.
    select f.name, f.len into v_field, v_field_bytes
      from (values (1, 'exchange', pg_catalog.octet_length(message_refuse.exchange)),
                   (2, 'routing_key', pg_catalog.octet_length(message_refuse.routing_key)),
                   (3, 'content_type', pg_catalog.octet_length(message_refuse.content_type)),
                   (4, 'reply_to', pg_catalog.octet_length(message_refuse.reply_to)),
                   (5, 'correlation_id', pg_catalog.octet_length(message_refuse.correlation_id)),
                   (6, 'message_id', pg_catalog.octet_length(message_refuse.message_id)),
                   (7, 'type', pg_catalog.octet_length(message_refuse.type)),
                   (8, 'app_id', pg_catalog.octet_length(message_refuse.app_id)),
                   (9, 'content_encoding', pg_catalog.octet_length(message_refuse.content_encoding))) as f(n, name, len)
     where f.len > 255
     order by f.n
     limit 1;
    if found then
        raise exception using errcode = '22001',
            message = pg_catalog.format('%s: %s is %s bytes long, AMQP allows at most 255',
                message_refuse.fn, v_field, v_field_bytes),
            hint = 'exchange, routing_key, content_type, reply_to, correlation_id, message_id, type, app_id and '
                || 'content_encoding are AMQP short strings (at most 255 bytes in UTF-8); put longer data in the '
                || 'message body or its headers';
    end if;
    -- pg_amqp only warned and sent such messages anyway; a typo should not change durability.
    if message_refuse.delivery_mode is not null and message_refuse.delivery_mode not in (1, 2) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: delivery_mode %s is invalid', message_refuse.fn,
                message_refuse.delivery_mode),
            hint = 'use 1 (transient), 2 (persistent) or NULL (= 2)';
    end if;
    if message_refuse.priority not between 0 and 255 then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: priority %s is outside 0-255', message_refuse.fn, message_refuse.priority),
            hint = 'AMQP priorities are 0 to 255 (RabbitMQ''s priority queues use 0 to their x-max-priority); '
                || 'or pass NULL for none';
    end if;
    if message_refuse.expiration < interval '0' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: expiration %s is negative', message_refuse.fn, message_refuse.expiration),
            hint = 'pass how long the message may wait in a queue, e.g. expiration => interval ''30 seconds''';
    end if;
end
$fn$;

comment on function amqp.message_refuse(text, integer, varchar, varchar, boolean, integer, varchar, varchar, varchar,
    varchar, varchar, varchar, varchar, interval, integer) is
'Internal: raises the error for the first rule of amqp.message_is_bad that a message breaks, naming fn.';
