-- amqp.publish: queue a message in amqp.outbox; the bridge sends it only if this transaction commits.
-- Returns true (bad input raises an ERROR with a HINT and queues nothing). pg_amqp compatible.

-- On every caller's hot path: one lookup in amqp.broker_state, one INSERT, and a NOTIFY only when
-- the bridge sleeps. Rolled-back transactions and savepoints take their rows with them.
create or replace function amqp.publish(
    broker_id integer,
    exchange varchar,
    routing_key varchar,
    message varchar,
    delivery_mode integer default null,
    content_type varchar default null,
    reply_to varchar default null,
    correlation_id varchar default null)
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
begin
    -- Parameters keep pg_amqp's names (named-argument calls) and clash with column names: they are
    -- always written publish.<name>, columns always with a table alias.
    if publish.broker_id is null or publish.exchange is null
            or publish.routing_key is null or publish.message is null then
        if publish.broker_id is null then
            raise exception using errcode = '22004',
                message = 'amqp.publish: broker_id must not be null',
                hint = 'pass the broker_id of a row in amqp.broker';
        elsif publish.exchange is null then
            raise exception using errcode = '22004',
                message = 'amqp.publish: exchange must not be null',
                hint = 'pass '''' (empty string) to publish to the default exchange';
        elsif publish.routing_key is null then
            raise exception using errcode = '22004',
                message = 'amqp.publish: routing_key must not be null',
                hint = 'pass '''' (empty string) for an empty routing key';
        else
            raise exception using errcode = '22004',
                message = 'amqp.publish: message must not be null',
                hint = 'pass '''' (empty string) for an empty body';
        end if;
    end if;
    -- AMQP 0-9-1 carries these as shortstr (a length byte): the client library refuses anything longer at
    -- publish time, so catch it here, where the caller still can. Bytes, not characters.
    if pg_catalog.octet_length(publish.exchange) > 255 or pg_catalog.octet_length(publish.routing_key) > 255
            or pg_catalog.octet_length(publish.content_type) > 255 or pg_catalog.octet_length(publish.reply_to) > 255
            or pg_catalog.octet_length(publish.correlation_id) > 255 then
        select f.name, f.len into v_field, v_field_bytes
          from (values (1, 'exchange', pg_catalog.octet_length(publish.exchange)),
                       (2, 'routing_key', pg_catalog.octet_length(publish.routing_key)),
                       (3, 'content_type', pg_catalog.octet_length(publish.content_type)),
                       (4, 'reply_to', pg_catalog.octet_length(publish.reply_to)),
                       (5, 'correlation_id', pg_catalog.octet_length(publish.correlation_id))) as f(n, name, len)
         where f.len > 255
         order by f.n
         limit 1;
        raise exception using errcode = '22001',
            message = pg_catalog.format('amqp.publish: %s is %s bytes long, AMQP allows at most 255',
                v_field, v_field_bytes),
            hint = 'exchange, routing_key, content_type, reply_to and correlation_id are AMQP short strings '
                || '(at most 255 bytes in UTF-8); put longer data in the message body';
    end if;
    -- pg_amqp only warned and sent such messages anyway; a typo should not change durability.
    if publish.delivery_mode is not null and publish.delivery_mode not in (1, 2) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('amqp.publish: delivery_mode %s is invalid', publish.delivery_mode),
            hint = 'use 1 (transient), 2 (persistent) or NULL (= 2)';
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
    -- The broker (and the bridge's memory) would refuse it later; failing now keeps the caller in charge.
    if pg_catalog.octet_length(publish.message) > v_max_body_bytes then
        raise exception using errcode = '54000',
            message = pg_catalog.format('amqp.publish: message of %s bytes exceeds max_body_bytes %s of broker_id %s',
                pg_catalog.octet_length(publish.message), v_max_body_bytes, publish.broker_id),
            hint = 'raise amqp.broker_state.max_body_bytes for this broker, or publish a reference to the data';
    end if;

    -- Its own statement, before the INSERT: the xid must exist before the id's nextval (see amqp.outbox.tx).
    v_tx := pg_catalog.pg_current_xact_id();
    insert into amqp.outbox as o
        (broker_id, tx, exchange, routing_key, body, delivery_mode, content_type, reply_to, correlation_id)
    values
        (publish.broker_id, v_tx, publish.exchange, publish.routing_key, publish.message,
         coalesce(publish.delivery_mode, 2), publish.content_type, publish.reply_to, publish.correlation_id);

    -- Identical notifications are folded into one per transaction, delivered at commit.
    if v_bridge_waiting then
        perform pg_catalog.pg_notify('amqp_outbox', publish.broker_id::text);
    end if;
    return true;
end
$fn$;

comment on function amqp.publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar) is
'Publishes a message (broker_id, exchange, routing_key, message, delivery_mode, content_type, reply_to, '
'correlation_id) when the calling transaction commits; nothing is sent if it (or the savepoint) rolls back. '
'delivery_mode: 1 transient, 2 or NULL persistent. Returns true; invalid input raises an error.';
