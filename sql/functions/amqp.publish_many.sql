-- amqp.publish_many: queue a batch of messages in amqp.outbox; sent in array order if this transaction commits.
-- Returns the number of messages queued (bad input raises an ERROR with a HINT and queues nothing).

-- Set-based: the arguments are checked once, broker_state is read once, and every row goes in with
-- one INSERT ... SELECT from unnest(...), so a batch costs about what a plain INSERT ... SELECT of
-- its rows does (amqp.publish runs statements per message). The element checks are that INSERT's
-- WHERE; only when it kept fewer rows than there are messages is the first bad element looked for,
-- and the error raised for it takes the rows back out with it.
--
-- routing_keys: one per message, or a single one for every message. correlation_ids: NULL, or one
-- per message (its elements may be NULL). Arrays must be one-dimensional; errors name an element by
-- its subscript. messages NULL (array_agg over no rows) is an empty batch: nothing is queued, 0 is
-- returned. headers (checked, with the trace context added, as in amqp.publish) go with every message;
-- message_ids: NULL, or one AMQP message-id per message (NULL elements: the outbox id, as always). The other
-- arguments are amqp.publish's and hold for every message.
-- (Looked up first: a DROP ... IF EXISTS would print a notice on every fresh install.)
do $$
begin
    if pg_catalog.to_regprocedure('amqp.publish_many(integer, varchar, varchar[], varchar[], integer, varchar, varchar, varchar[])') is not null then
        drop function amqp.publish_many(integer, varchar, varchar[], varchar[], integer, varchar, varchar, varchar[]);
    end if;
    -- and the 10 parameters before deliver_at.
    if pg_catalog.to_regprocedure('amqp.publish_many(integer, varchar, varchar[], varchar[], integer, varchar, '
            || 'varchar, varchar[], jsonb, varchar[])') is not null then
        drop function amqp.publish_many(integer, varchar, varchar[], varchar[], integer, varchar, varchar, varchar[],
            jsonb, varchar[]);
    end if;
end
$$;

create or replace function amqp.publish_many(
    broker_id integer,
    exchange varchar,
    routing_keys varchar[],
    messages varchar[],
    delivery_mode integer default null,
    content_type varchar default null,
    reply_to varchar default null,
    correlation_ids varchar[] default null,
    headers jsonb default null,
    message_ids varchar[] default null,
    deliver_at timestamptz default null)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
-- A custom plan (the plan cache's choice for a statement's first five runs) would copy every array
-- argument into the plan, twice.
set plan_cache_mode = force_generic_plan
as $fn$
declare
    v_count integer;
    v_shared_key varchar;     -- the routing key of every message, when routing_keys has one element
    v_max_body_bytes integer;
    v_bridge_waiting boolean;
    v_publisher_role name;
    v_max_pending_rows bigint;
    v_tx xid8;
    v_queued integer;
    v_field text;
    v_field_bytes integer;
    v_bad record;
    v_headers jsonb;
    v_headers_bytes integer := 0;
begin
    -- Parameters are written publish_many.<name>, columns always with a table alias (as in publish).
    if publish_many.broker_id is null then
        raise exception using errcode = '22004',
            message = 'amqp.publish_many: broker_id must not be null',
            hint = 'pass the broker_id of a row in amqp.broker';
    elsif publish_many.exchange is null then
        raise exception using errcode = '22004',
            message = 'amqp.publish_many: exchange must not be null',
            hint = 'pass '''' (empty string) to publish to the default exchange';
    elsif publish_many.routing_keys is null then
        raise exception using errcode = '22004',
            message = 'amqp.publish_many: routing_keys must not be null',
            hint = 'pass one routing key per message, or a single one for all, e.g. array['''']';
    end if;
    -- array_agg over no rows gives NULL, not an empty array: both queue nothing.
    if publish_many.messages is null then
        publish_many.messages := '{}';
    end if;
    select a.name into v_field
      from (values (1, 'routing_keys', pg_catalog.array_ndims(publish_many.routing_keys)),
                   (2, 'messages', pg_catalog.array_ndims(publish_many.messages)),
                   (3, 'correlation_ids', pg_catalog.array_ndims(publish_many.correlation_ids)),
                   (4, 'message_ids', pg_catalog.array_ndims(publish_many.message_ids))) as a(n, name, ndims)
     where a.ndims > 1
     order by a.n
     limit 1;
    if found then
        raise exception using errcode = '22023',
            message = pg_catalog.format('amqp.publish_many: %s must be a one-dimensional array', v_field),
            hint = 'pass a one-dimensional array, e.g. from array_agg(...) or ARRAY[...]';
    end if;

    v_count := pg_catalog.cardinality(publish_many.messages);
    if pg_catalog.cardinality(publish_many.routing_keys) = 1 then
        v_shared_key := publish_many.routing_keys[pg_catalog.array_lower(publish_many.routing_keys, 1)];
        if v_shared_key is null then
            raise exception using errcode = '22004',
                message = pg_catalog.format('amqp.publish_many: routing_keys[%s] must not be null',
                    pg_catalog.array_lower(publish_many.routing_keys, 1)),
                hint = 'pass '''' (empty string) for an empty routing key';
        end if;
    elsif pg_catalog.cardinality(publish_many.routing_keys) <> v_count then
        raise exception using errcode = '22023',
            message = pg_catalog.format('amqp.publish_many: routing_keys has %s elements but messages has %s',
                pg_catalog.cardinality(publish_many.routing_keys), v_count),
            hint = 'pass one routing key per message, or a single one for all';
    end if;
    if pg_catalog.cardinality(publish_many.correlation_ids) <> v_count then
        raise exception using errcode = '22023',
            message = pg_catalog.format('amqp.publish_many: correlation_ids has %s elements but messages has %s',
                pg_catalog.cardinality(publish_many.correlation_ids), v_count),
            hint = 'pass one correlation id per message (NULL elements for none), or NULL for none at all';
    end if;
    if pg_catalog.cardinality(publish_many.message_ids) <> v_count then
        raise exception using errcode = '22023',
            message = pg_catalog.format('amqp.publish_many: message_ids has %s elements but messages has %s',
                pg_catalog.cardinality(publish_many.message_ids), v_count),
            hint = 'pass one message id per message (NULL elements for the default), or NULL for none at all';
    end if;
    -- AMQP short strings, as in publish: at most 255 bytes.
    select f.name, f.len into v_field, v_field_bytes
      from (values (1, 'exchange', pg_catalog.octet_length(publish_many.exchange)),
                   (2, pg_catalog.format('routing_keys[%s]', pg_catalog.array_lower(publish_many.routing_keys, 1)),
                    pg_catalog.octet_length(v_shared_key)),
                   (3, 'content_type', pg_catalog.octet_length(publish_many.content_type)),
                   (4, 'reply_to', pg_catalog.octet_length(publish_many.reply_to))) as f(n, name, len)
     where f.len > 255
     order by f.n
     limit 1;
    if found then
        raise exception using errcode = '22001',
            message = pg_catalog.format('amqp.publish_many: %s is %s bytes long, AMQP allows at most 255',
                v_field, v_field_bytes),
            hint = 'exchange, routing keys, content_type, reply_to and correlation ids are AMQP short strings '
                || '(at most 255 bytes in UTF-8); put longer data in the message body';
    end if;
    if publish_many.delivery_mode not in (1, 2) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('amqp.publish_many: delivery_mode %s is invalid', publish_many.delivery_mode),
            hint = 'use 1 (transient), 2 (persistent) or NULL (= 2)';
    end if;
    v_headers := publish_many.headers;
    if v_headers is not null or pg_catalog.current_setting('amqp.traceparent', true) <> '' then
        v_headers := amqp.message_headers('amqp.publish_many', v_headers);
        v_headers_bytes := coalesce(pg_catalog.octet_length(v_headers::text), 0);
    end if;

    if publish_many.deliver_at = 'infinity' then
        raise exception using errcode = '22008',
            message = 'amqp.publish_many: deliver_at is infinity: the message would never be sent',
            hint = 'pass a finite time, or null to send it when the transaction commits';
    end if;

    select s.max_body_bytes, s.bridge_waiting_until > pg_catalog.now(), s.publisher_role, s.max_pending_rows
      into v_max_body_bytes, v_bridge_waiting, v_publisher_role, v_max_pending_rows
      from amqp.broker_state s
     where s.broker_id = publish_many.broker_id;
    if not found then
        raise exception using errcode = '23503',
            message = pg_catalog.format('amqp.publish_many: unknown broker_id %s', publish_many.broker_id),
            hint = 'insert the broker first: insert into amqp.broker(host, port, vhost, username, password) values (...)';
    end if;
    if v_count = 0 then
        return 0;
    end if;
    if v_publisher_role is not null or v_max_pending_rows is not null then
        perform amqp.broker_policy_check(publish_many.broker_id, 'amqp.publish_many', v_publisher_role,
            v_max_pending_rows, v_count);
    end if;

    -- Its own statement, before the INSERT: the xid must exist before the ids' nextvals (see amqp.outbox.tx).
    v_tx := pg_catalog.pg_current_xact_id();
    -- unnest in a select list streams, emitting the arrays' elements side by side in array order (a
    -- shorter or NULL array gives NULLs); unnest in FROM would first copy the batch into a tuplestore,
    -- on disk beyond work_mem. Nothing between it and the INSERT reorders rows, so the ids' nextvals
    -- follow the array order, which is the order the bridge publishes in.
    -- A future deliver_at: the same rows into amqp.scheduled (the bridge moves them to the outbox when due).
    if publish_many.deliver_at > pg_catalog.now() then
        insert into amqp.scheduled as o
            (broker_id, deliver_at, exchange, routing_key, body, delivery_mode, content_type, reply_to, correlation_id,
             message_id, headers)
        select publish_many.broker_id, publish_many.deliver_at, publish_many.exchange,
               coalesce(m.routing_key, v_shared_key), m.body,
               coalesce(publish_many.delivery_mode, 2), publish_many.content_type, publish_many.reply_to,
               m.correlation_id, m.message_id, v_headers
          from (select pg_catalog.unnest(publish_many.messages) as body,
                       pg_catalog.unnest(case when v_shared_key is null then publish_many.routing_keys end) as routing_key,
                       pg_catalog.unnest(publish_many.correlation_ids) as correlation_id,
                       pg_catalog.unnest(publish_many.message_ids) as message_id) as m
         where pg_catalog.octet_length(m.body) <= v_max_body_bytes - v_headers_bytes
           and pg_catalog.octet_length(coalesce(m.routing_key, v_shared_key)) <= 255
           and (pg_catalog.octet_length(m.correlation_id) <= 255 or m.correlation_id is null)
           and (pg_catalog.octet_length(m.message_id) <= 255 or m.message_id is null);
    else
        insert into amqp.outbox as o
            (broker_id, tx, exchange, routing_key, body, delivery_mode, content_type, reply_to, correlation_id,
             message_id, headers)
        select publish_many.broker_id, v_tx, publish_many.exchange, coalesce(m.routing_key, v_shared_key), m.body,
               coalesce(publish_many.delivery_mode, 2), publish_many.content_type, publish_many.reply_to,
               m.correlation_id, m.message_id, v_headers
          from (select pg_catalog.unnest(publish_many.messages) as body,
                       pg_catalog.unnest(case when v_shared_key is null then publish_many.routing_keys end) as routing_key,
                       pg_catalog.unnest(publish_many.correlation_ids) as correlation_id,
                       pg_catalog.unnest(publish_many.message_ids) as message_id) as m
         where pg_catalog.octet_length(m.body) <= v_max_body_bytes - v_headers_bytes
           and pg_catalog.octet_length(coalesce(m.routing_key, v_shared_key)) <= 255
           and (pg_catalog.octet_length(m.correlation_id) <= 255 or m.correlation_id is null)
           and (pg_catalog.octet_length(m.message_id) <= 255 or m.message_id is null);
    end if;
    get diagnostics v_queued = row_count;

    if v_queued <> v_count then
        -- The first element the WHERE above left out, with its first fault in amqp.publish's order.
        select m.n, m.body, m.routing_key, m.correlation_id, m.message_id into v_bad
          from unnest(publish_many.messages,
                      case when v_shared_key is null then publish_many.routing_keys end,
                      publish_many.correlation_ids, publish_many.message_ids)
               with ordinality as m(body, routing_key, correlation_id, message_id, n)
         where not (pg_catalog.octet_length(m.body) <= v_max_body_bytes - v_headers_bytes
                    and pg_catalog.octet_length(coalesce(m.routing_key, v_shared_key)) <= 255
                    and (pg_catalog.octet_length(m.correlation_id) <= 255 or m.correlation_id is null)
                    and (pg_catalog.octet_length(m.message_id) <= 255 or m.message_id is null))
            or m.body is null or coalesce(m.routing_key, v_shared_key) is null
         order by m.n
         limit 1;
        if v_bad.routing_key is null and v_shared_key is null then
            raise exception using errcode = '22004',
                message = pg_catalog.format('amqp.publish_many: routing_keys[%s] must not be null',
                    pg_catalog.array_lower(publish_many.routing_keys, 1) + v_bad.n - 1),
                hint = 'pass '''' (empty string) for an empty routing key';
        elsif v_bad.body is null then
            raise exception using errcode = '22004',
                message = pg_catalog.format('amqp.publish_many: messages[%s] must not be null',
                    pg_catalog.array_lower(publish_many.messages, 1) + v_bad.n - 1),
                hint = 'pass '''' (empty string) for an empty body';
        elsif pg_catalog.octet_length(v_bad.routing_key) > 255 then
            raise exception using errcode = '22001',
                message = pg_catalog.format('amqp.publish_many: routing_keys[%s] is %s bytes long, AMQP allows at most 255',
                    pg_catalog.array_lower(publish_many.routing_keys, 1) + v_bad.n - 1,
                    pg_catalog.octet_length(v_bad.routing_key)),
                hint = 'exchange, routing keys, content_type, reply_to and correlation ids are AMQP short strings '
                    || '(at most 255 bytes in UTF-8); put longer data in the message body';
        elsif pg_catalog.octet_length(v_bad.correlation_id) > 255 then
            raise exception using errcode = '22001',
                message = pg_catalog.format('amqp.publish_many: correlation_ids[%s] is %s bytes long, AMQP allows at most 255',
                    pg_catalog.array_lower(publish_many.correlation_ids, 1) + v_bad.n - 1,
                    pg_catalog.octet_length(v_bad.correlation_id)),
                hint = 'exchange, routing keys, content_type, reply_to and correlation ids are AMQP short strings '
                    || '(at most 255 bytes in UTF-8); put longer data in the message body';
        elsif pg_catalog.octet_length(v_bad.message_id) > 255 then
            raise exception using errcode = '22001',
                message = pg_catalog.format('amqp.publish_many: message_ids[%s] is %s bytes long, AMQP allows at most 255',
                    pg_catalog.array_lower(publish_many.message_ids, 1) + v_bad.n - 1,
                    pg_catalog.octet_length(v_bad.message_id)),
                hint = 'message ids are AMQP short strings (at most 255 bytes in UTF-8)';
        end if;
        raise exception using errcode = '54000',
            message = pg_catalog.format('amqp.publish_many: messages[%s] of %s bytes%s exceeds max_body_bytes %s of broker_id %s',
                pg_catalog.array_lower(publish_many.messages, 1) + v_bad.n - 1, pg_catalog.octet_length(v_bad.body),
                case when v_headers is not null then pg_catalog.format(' with %s bytes of headers', v_headers_bytes) end,
                v_max_body_bytes, publish_many.broker_id),
            hint = 'raise amqp.broker_state.max_body_bytes for this broker, or publish references to the data';
    end if;

    -- One notification however many messages; folded with others of this transaction, sent at commit.
    if publish_many.deliver_at > pg_catalog.now() then
        perform pg_catalog.pg_notify('amqp_scheduled', publish_many.broker_id::text);
    elsif v_bridge_waiting then
        perform pg_catalog.pg_notify('amqp_outbox', publish_many.broker_id::text);
    end if;
    return v_queued;
end
$fn$;

comment on function amqp.publish_many(integer, varchar, varchar[], varchar[], integer, varchar, varchar, varchar[],
    jsonb, varchar[], timestamptz) is
'Publishes messages[i] with routing_keys[i] (or the single routing key for all), correlation_ids[i] and '
'message_ids[i] (if given) and headers (if given, for every message), '
'in array order, when the calling transaction commits (not before deliver_at, if given); the other arguments as in amqp.publish. Returns the number '
'queued; invalid input raises an error naming the element and queues nothing.';
