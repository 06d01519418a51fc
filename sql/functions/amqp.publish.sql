-- amqp.publish: queue a message in amqp.outbox; the bridge sends it only if this transaction commits.
-- Returns true (bad input raises an ERROR with a HINT and queues nothing). pg_amqp compatible: its four
-- parameters first, then pgamqp's four properties, then the optional fields of every AMQP message.

-- On every caller's hot path: one inlined test of the arguments, one lookup in amqp.broker_state, one INSERT, and a
-- NOTIFY only when the bridge sleeps; the optional fields cost nothing more when not given (amqp.message_headers
-- runs only for headers or a traceparent). Rolled-back transactions and savepoints take their rows with them.
-- publish_json and publish_bytes do the same through amqp.enqueue (see there why this one has a body of its own).
-- Earlier versions had eight parameters; that signature goes, or a 4- to 8-argument call would match both.
-- (Looked up first: a DROP ... IF EXISTS would print a notice on every fresh install.)
do $$
begin
    if pg_catalog.to_regprocedure('amqp.publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar)') is not null then
        drop function amqp.publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar);
    end if;
    -- and the 15 parameters before deliver_at.
    if pg_catalog.to_regprocedure('amqp.publish(integer, varchar, varchar, varchar, integer, varchar, varchar, '
            || 'varchar, jsonb, varchar, varchar, varchar, interval, integer, varchar)') is not null then
        drop function amqp.publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar, jsonb,
            varchar, varchar, varchar, interval, integer, varchar);
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
    content_encoding varchar default null,
    deliver_at timestamptz default null)
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
    v_headers jsonb;
begin
    -- A delayed message goes to amqp.scheduled through amqp.enqueue: off the common path, which pays one test.
    if publish.deliver_at is not null then
        return amqp.enqueue('amqp.publish', publish.broker_id, publish.exchange, publish.routing_key, publish.message,
            null::bytea, publish.delivery_mode, publish.content_type, publish.reply_to, publish.correlation_id,
            publish.headers, publish.message_id, publish.type, publish.app_id, publish.expiration, publish.priority,
            publish.content_encoding, publish.deliver_at);
    end if;
    -- Parameters keep pg_amqp's names (named-argument calls) and clash with column names: they are always written
    -- publish.<name>, columns always with a table alias.
    if amqp.message_is_bad(publish.broker_id, publish.exchange, publish.routing_key, publish.message is not null,
            publish.delivery_mode, publish.content_type, publish.reply_to, publish.correlation_id, publish.message_id,
            publish.type, publish.app_id, publish.content_encoding, publish.expiration, publish.priority) then
        perform amqp.message_refuse('amqp.publish', publish.broker_id, publish.exchange, publish.routing_key,
            publish.message is not null, publish.delivery_mode, publish.content_type, publish.reply_to,
            publish.correlation_id, publish.message_id, publish.type, publish.app_id, publish.content_encoding,
            publish.expiration, publish.priority);
    end if;
    if publish.headers is not null or pg_catalog.current_setting('amqp.traceparent', true) <> '' then
        v_headers := amqp.message_headers('amqp.publish', publish.headers);
    end if;

    select s.max_body_bytes, s.bridge_waiting_until > pg_catalog.now(), s.publisher_role, s.max_pending_rows
      into v_max_body_bytes, v_bridge_waiting, v_publisher_role, v_max_pending_rows
      from amqp.broker_state s
     where s.broker_id = publish.broker_id;
    if not found then
        raise exception using errcode = '23503',
            message = pg_catalog.format('amqp.publish: unknown broker_id %s', publish.broker_id),
            hint = 'insert the broker first: insert into amqp.broker(host, port, vhost, username, password) values (...)';
    end if;
    if v_publisher_role is not null or v_max_pending_rows is not null then
        perform amqp.broker_policy_check(publish.broker_id, 'amqp.publish', v_publisher_role, v_max_pending_rows, 1);
    end if;
    -- The broker (and the bridge's memory) would refuse it later; failing now keeps the caller in charge. Headers
    -- travel in the same frame budget as the body.
    if pg_catalog.octet_length(publish.message) + coalesce(pg_catalog.octet_length(v_headers::text), 0)
            > v_max_body_bytes then
        raise exception using errcode = '54000',
            message = pg_catalog.format('amqp.publish: message of %s bytes%s exceeds max_body_bytes %s of broker_id %s',
                pg_catalog.octet_length(publish.message),
                case when v_headers is not null
                     then pg_catalog.format(' with %s bytes of headers', pg_catalog.octet_length(v_headers::text)) end,
                v_max_body_bytes, publish.broker_id),
            hint = 'raise amqp.broker_state.max_body_bytes for this broker, or publish a reference to the data';
    end if;

    -- Its own statement, before the INSERT: the xid must exist before the id's nextval (see amqp.outbox.tx).
    v_tx := pg_catalog.pg_current_xact_id();
    insert into amqp.outbox as o
        (broker_id, tx, exchange, routing_key, body, delivery_mode, content_type, reply_to, correlation_id,
         message_id, headers, type, app_id, expiration_ms, priority, content_encoding)
    values
        (publish.broker_id, v_tx, publish.exchange, publish.routing_key, publish.message,
         coalesce(publish.delivery_mode, 2), publish.content_type, publish.reply_to, publish.correlation_id,
         publish.message_id, v_headers, publish.type, publish.app_id,
         -- AMQP wants whole milliseconds; rounded up, a message never expires earlier than asked.
         pg_catalog.ceil(extract(epoch from publish.expiration) * 1000)::bigint, publish.priority,
         publish.content_encoding);

    -- Identical notifications are folded into one per transaction, delivered at commit.
    if v_bridge_waiting then
        perform pg_catalog.pg_notify('amqp_outbox', publish.broker_id::text);
    end if;
    return true;
end
$fn$;

comment on function amqp.publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar, jsonb,
    varchar, varchar, varchar, interval, integer, varchar, timestamptz) is
'Publishes a message (broker_id, exchange, routing_key, message, delivery_mode, content_type, reply_to, '
'correlation_id; optional headers jsonb, message_id, type, app_id, expiration, priority, content_encoding, '
'deliver_at) when the calling transaction commits (not before deliver_at); nothing is sent if it (or the '
'savepoint) rolls back. delivery_mode: 1 transient, 2 or NULL persistent. set local amqp.traceparent adds the W3C trace context. Returns true; invalid input raises '
'an error.';
