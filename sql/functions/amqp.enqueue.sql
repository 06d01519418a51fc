-- amqp.enqueue: what amqp.publish, amqp.publish_json and amqp.publish_bytes do (they are SQL wrappers naming
-- themselves in fn): check one message, queue it in amqp.outbox, wake a sleeping bridge. Returns true; bad input
-- raises an ERROR with a HINT, naming fn, and queues nothing.

-- On every caller's hot path: one lookup in amqp.broker_state, one INSERT, and a NOTIFY only when the bridge sleeps.
-- The optional fields cost a null test each when not given (amqp.message_headers runs only for headers or a
-- traceparent). Rolled-back transactions and savepoints take their rows with them. Exactly one of body and
-- body_bytes is not null. Not called directly: its wrappers are inlined into the caller's query (plain SQL
-- functions without SET), so they add no call of their own.
create or replace function amqp.enqueue(
    fn text,
    broker_id integer,
    exchange varchar,
    routing_key varchar,
    body varchar,
    body_bytes bytea,
    delivery_mode integer,
    content_type varchar,
    reply_to varchar,
    correlation_id varchar,
    headers jsonb,
    message_id varchar,
    type varchar,
    app_id varchar,
    expiration interval,
    priority integer,
    content_encoding varchar)
returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $fn$
declare
    v_max_body_bytes integer;
    v_bridge_waiting boolean;
    v_publisher_role name;
    v_max_pending_rows bigint;
    v_tx xid8;
    v_field text;
    v_field_bytes integer;
    v_headers jsonb;
    v_body_bytes integer;
    v_expiration_ms bigint;
begin
    -- Parameters share names with columns: always written enqueue.<name>, columns always with a table alias.
    if enqueue.broker_id is null or enqueue.exchange is null or enqueue.routing_key is null
            or (enqueue.body is null and enqueue.body_bytes is null) then
        if enqueue.broker_id is null then
            raise exception using errcode = '22004',
                message = enqueue.fn || ': broker_id must not be null',
                hint = 'pass the broker_id of a row in amqp.broker';
        elsif enqueue.exchange is null then
            raise exception using errcode = '22004',
                message = enqueue.fn || ': exchange must not be null',
                hint = 'pass '''' (empty string) to publish to the default exchange';
        elsif enqueue.routing_key is null then
            raise exception using errcode = '22004',
                message = enqueue.fn || ': routing_key must not be null',
                hint = 'pass '''' (empty string) for an empty routing key';
        else
            raise exception using errcode = '22004',
                message = enqueue.fn || ': ' || case enqueue.fn when 'amqp.publish_json' then 'payload'
                                                                when 'amqp.publish_bytes' then 'body'
                                                                else 'message' end || ' must not be null',
                hint = case enqueue.fn when 'amqp.publish_json' then 'pass ''null''::jsonb for a JSON null'
                                       when 'amqp.publish_bytes' then 'pass ''''::bytea for an empty body'
                                       else 'pass '''' (empty string) for an empty body' end;
        end if;
    end if;
    -- AMQP 0-9-1 carries these as shortstr (a length byte): the client library refuses anything longer at
    -- publish time, so catch it here, where the caller still can. Bytes, not characters.
    if pg_catalog.octet_length(enqueue.exchange) > 255 or pg_catalog.octet_length(enqueue.routing_key) > 255
            or pg_catalog.octet_length(enqueue.content_type) > 255 or pg_catalog.octet_length(enqueue.reply_to) > 255
            or pg_catalog.octet_length(enqueue.correlation_id) > 255
            or (enqueue.message_id is not null or enqueue.type is not null or enqueue.app_id is not null
                or enqueue.content_encoding is not null)
               and (pg_catalog.octet_length(enqueue.message_id) > 255 or pg_catalog.octet_length(enqueue.type) > 255
                    or pg_catalog.octet_length(enqueue.app_id) > 255
                    or pg_catalog.octet_length(enqueue.content_encoding) > 255) then
        select f.name, f.len into v_field, v_field_bytes
          from (values (1, 'exchange', pg_catalog.octet_length(enqueue.exchange)),
                       (2, 'routing_key', pg_catalog.octet_length(enqueue.routing_key)),
                       (3, 'content_type', pg_catalog.octet_length(enqueue.content_type)),
                       (4, 'reply_to', pg_catalog.octet_length(enqueue.reply_to)),
                       (5, 'correlation_id', pg_catalog.octet_length(enqueue.correlation_id)),
                       (6, 'message_id', pg_catalog.octet_length(enqueue.message_id)),
                       (7, 'type', pg_catalog.octet_length(enqueue.type)),
                       (8, 'app_id', pg_catalog.octet_length(enqueue.app_id)),
                       (9, 'content_encoding', pg_catalog.octet_length(enqueue.content_encoding))) as f(n, name, len)
         where f.len > 255
         order by f.n
         limit 1;
        raise exception using errcode = '22001',
            message = pg_catalog.format('%s: %s is %s bytes long, AMQP allows at most 255',
                enqueue.fn, v_field, v_field_bytes),
            hint = 'exchange, routing_key, content_type, reply_to, correlation_id, message_id, type, app_id and '
                || 'content_encoding are AMQP short strings (at most 255 bytes in UTF-8); put longer data in the '
                || 'message body or its headers';
    end if;
    -- pg_amqp only warned and sent such messages anyway; a typo should not change durability.
    if enqueue.delivery_mode is not null and enqueue.delivery_mode not in (1, 2) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: delivery_mode %s is invalid', enqueue.fn, enqueue.delivery_mode),
            hint = 'use 1 (transient), 2 (persistent) or NULL (= 2)';
    end if;
    -- One test for the common case, a message without priority, expiration, headers or trace context: every
    -- statement costs a publisher's transaction about a microsecond.
    if enqueue.priority is not null or enqueue.expiration is not null or enqueue.headers is not null
            or pg_catalog.current_setting('amqp.traceparent', true) <> '' then
        if enqueue.priority not between 0 and 255 then
            raise exception using errcode = '22023',
                message = pg_catalog.format('%s: priority %s is outside 0-255', enqueue.fn, enqueue.priority),
                hint = 'AMQP priorities are 0 to 255 (RabbitMQ''s priority queues use 0 to their x-max-priority); '
                    || 'or pass NULL for none';
        end if;
        if enqueue.expiration is not null then
            -- AMQP wants whole milliseconds; round up, so that a message never expires earlier than asked.
            v_expiration_ms := pg_catalog.ceil(extract(epoch from enqueue.expiration) * 1000)::bigint;
            if v_expiration_ms < 0 then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('%s: expiration %s is negative', enqueue.fn, enqueue.expiration),
                    hint = 'pass how long the message may wait in a queue, e.g. expiration => interval ''30 seconds''';
            end if;
        end if;
        v_headers := amqp.message_headers(enqueue.fn, enqueue.headers);
    end if;

    select s.max_body_bytes, s.bridge_waiting_until > pg_catalog.now(), s.publisher_role, s.max_pending_rows
      into v_max_body_bytes, v_bridge_waiting, v_publisher_role, v_max_pending_rows
      from amqp.broker_state s
     where s.broker_id = enqueue.broker_id;
    if not found then
        raise exception using errcode = '23503',
            message = pg_catalog.format('%s: unknown broker_id %s', enqueue.fn, enqueue.broker_id),
            hint = 'insert the broker first: insert into amqp.broker(host, port, vhost, username, password) values (...)';
    end if;
    if v_publisher_role is not null or v_max_pending_rows is not null then
        perform amqp.broker_policy_check(enqueue.broker_id, enqueue.fn, v_publisher_role, v_max_pending_rows, 1);
    end if;
    -- The broker (and the bridge's memory) would refuse it later; failing now keeps the caller in charge. Headers
    -- travel in the same frame budget as the body.
    if coalesce(pg_catalog.octet_length(enqueue.body), pg_catalog.octet_length(enqueue.body_bytes))
            + coalesce(pg_catalog.octet_length(v_headers::text), 0) > v_max_body_bytes then
        v_body_bytes := coalesce(pg_catalog.octet_length(enqueue.body), pg_catalog.octet_length(enqueue.body_bytes));
        raise exception using errcode = '54000',
            message = pg_catalog.format('%s: message of %s bytes%s exceeds max_body_bytes %s of broker_id %s',
                enqueue.fn, v_body_bytes,
                case when v_headers is not null
                     then pg_catalog.format(' with %s bytes of headers', pg_catalog.octet_length(v_headers::text)) end,
                v_max_body_bytes, enqueue.broker_id),
            hint = 'raise amqp.broker_state.max_body_bytes for this broker, or publish a reference to the data';
    end if;

    -- Its own statement, before the INSERT: the xid must exist before the id's nextval (see amqp.outbox.tx).
    v_tx := pg_catalog.pg_current_xact_id();
    insert into amqp.outbox as o
        (broker_id, tx, exchange, routing_key, body, body_bytes, delivery_mode, content_type, reply_to,
         correlation_id, message_id, headers, type, app_id, expiration_ms, priority, content_encoding)
    values
        (enqueue.broker_id, v_tx, enqueue.exchange, enqueue.routing_key, enqueue.body, enqueue.body_bytes,
         coalesce(enqueue.delivery_mode, 2), enqueue.content_type, enqueue.reply_to, enqueue.correlation_id,
         enqueue.message_id, v_headers, enqueue.type, enqueue.app_id, v_expiration_ms, enqueue.priority,
         enqueue.content_encoding);

    -- Identical notifications are folded into one per transaction, delivered at commit.
    if v_bridge_waiting then
        perform pg_catalog.pg_notify('amqp_outbox', enqueue.broker_id::text);
    end if;
    return true;
end
$fn$;

comment on function amqp.enqueue(text, integer, varchar, varchar, varchar, bytea, integer, varchar, varchar, varchar,
    jsonb, varchar, varchar, varchar, interval, integer, varchar) is
'Internal: the body of amqp.publish, amqp.publish_json and amqp.publish_bytes (fn names the caller in errors). '
'Queues one message in amqp.outbox for when the calling transaction commits. Returns true.';
