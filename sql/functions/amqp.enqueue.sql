-- amqp.enqueue: what amqp.publish_json and amqp.publish_bytes do (SQL wrappers naming themselves in fn): check one
-- message, queue it in amqp.outbox, wake a sleeping bridge. Returns true; bad input raises an ERROR with a HINT,
-- naming fn, and queues nothing.

-- amqp.publish does the same for text bodies in a body of its own: a call of this function from a wrapper costs a
-- one-message transaction 3-9% of its rate (pgbench, simple and extended protocol), and publish's cost is held
-- against a plain INSERT. The checks are shared (amqp.message_is_bad, message_refuse, message_headers); what both
-- repeat is the lookup, the INSERT and the NOTIFY below. Exactly one of body and body_bytes is not null; the
-- wrappers are inlined into the caller's query (plain SQL functions without SET). A deliver_at in the future queues
-- the message in amqp.scheduled instead (amqp.publish hands such messages here too), and always tells the bridge:
-- it sleeps until the next due time it knows of, which this one may precede.
-- Earlier versions had no deliver_at; that signature goes (looked up first, as in amqp.publish).
do $$
begin
    if pg_catalog.to_regprocedure('amqp.enqueue(text, integer, varchar, varchar, varchar, bytea, integer, varchar, '
            || 'varchar, varchar, jsonb, varchar, varchar, varchar, interval, integer, varchar)') is not null then
        drop function amqp.enqueue(text, integer, varchar, varchar, varchar, bytea, integer, varchar, varchar, varchar,
            jsonb, varchar, varchar, varchar, interval, integer, varchar);
    end if;
end
$$;

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
    content_encoding varchar,
    deliver_at timestamptz)
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
    v_body_bytes integer;
begin
    -- Parameters share names with columns: always written enqueue.<name>, columns always with a table alias.
    if amqp.message_is_bad(enqueue.broker_id, enqueue.exchange, enqueue.routing_key,
            enqueue.body is not null or enqueue.body_bytes is not null, enqueue.delivery_mode, enqueue.content_type,
            enqueue.reply_to, enqueue.correlation_id, enqueue.message_id, enqueue.type, enqueue.app_id,
            enqueue.content_encoding, enqueue.expiration, enqueue.priority) then
        perform amqp.message_refuse(enqueue.fn, enqueue.broker_id, enqueue.exchange, enqueue.routing_key,
            enqueue.body is not null or enqueue.body_bytes is not null, enqueue.delivery_mode, enqueue.content_type,
            enqueue.reply_to, enqueue.correlation_id, enqueue.message_id, enqueue.type, enqueue.app_id,
            enqueue.content_encoding, enqueue.expiration, enqueue.priority);
    end if;
    if enqueue.headers is not null or pg_catalog.current_setting('amqp.traceparent', true) <> '' then
        v_headers := amqp.message_headers(enqueue.fn, enqueue.headers);
    end if;

    if enqueue.deliver_at = 'infinity' then
        raise exception using errcode = '22008',
            message = enqueue.fn || ': deliver_at is infinity: the message would never be sent',
            hint = 'pass a finite time, or null to send it when the transaction commits';
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

    if enqueue.deliver_at > pg_catalog.now() then
        insert into amqp.scheduled as s
            (broker_id, deliver_at, exchange, routing_key, body, body_bytes, delivery_mode, content_type, reply_to,
             correlation_id, message_id, headers, type, app_id, expiration_ms, priority, content_encoding)
        values
            (enqueue.broker_id, enqueue.deliver_at, enqueue.exchange, enqueue.routing_key, enqueue.body,
             enqueue.body_bytes, coalesce(enqueue.delivery_mode, 2), enqueue.content_type, enqueue.reply_to,
             enqueue.correlation_id, enqueue.message_id, v_headers, enqueue.type, enqueue.app_id,
             pg_catalog.ceil(extract(epoch from enqueue.expiration) * 1000)::bigint, enqueue.priority,
             enqueue.content_encoding);
        perform pg_catalog.pg_notify('amqp_scheduled', enqueue.broker_id::text);
        return true;
    end if;

    -- Its own statement, before the INSERT: the xid must exist before the id's nextval (see amqp.outbox.tx).
    v_tx := pg_catalog.pg_current_xact_id();
    insert into amqp.outbox as o
        (broker_id, tx, exchange, routing_key, body, body_bytes, delivery_mode, content_type, reply_to,
         correlation_id, message_id, headers, type, app_id, expiration_ms, priority, content_encoding)
    values
        (enqueue.broker_id, v_tx, enqueue.exchange, enqueue.routing_key, enqueue.body, enqueue.body_bytes,
         coalesce(enqueue.delivery_mode, 2), enqueue.content_type, enqueue.reply_to, enqueue.correlation_id,
         enqueue.message_id, v_headers, enqueue.type, enqueue.app_id,
         -- AMQP wants whole milliseconds; rounded up, a message never expires earlier than asked.
         pg_catalog.ceil(extract(epoch from enqueue.expiration) * 1000)::bigint, enqueue.priority,
         enqueue.content_encoding);

    -- Identical notifications are folded into one per transaction, delivered at commit.
    if v_bridge_waiting then
        perform pg_catalog.pg_notify('amqp_outbox', enqueue.broker_id::text);
    end if;
    return true;
end
$fn$;

comment on function amqp.enqueue(text, integer, varchar, varchar, varchar, bytea, integer, varchar, varchar, varchar,
    jsonb, varchar, varchar, varchar, interval, integer, varchar, timestamptz) is
'Internal: the body of amqp.publish, amqp.publish_json and amqp.publish_bytes (fn names the caller in errors). '
'Queues one message in amqp.outbox (amqp.scheduled when deliver_at is in the future) for when the calling '
'transaction commits. Returns true.';
