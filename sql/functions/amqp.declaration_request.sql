-- amqp.declaration_request: check and record one queue, binding or unbind request (pending) in
-- amqp.topology_declaration and queue it for the bridge (outbox kind 't'). Returns true; bad input raises an ERROR.

-- The one body behind queue_declare, queue_bind, exchange_bind, queue_unbind and exchange_unbind (fn names the one
-- called, in errors). kind: queue, queue_binding or exchange_binding; name is the queue or the binding's
-- destination, source the binding's exchange ('' for a queue). The outbox row's body is the request's id: the
-- bridge applies what amqp.topology_declaration holds for it when it claims the row (see that table). Internal: no
-- EXECUTE for anyone but the owner; the public functions are SECURITY DEFINER and call it as the owner.
create or replace function amqp.declaration_request(
    fn text,
    broker_id integer,
    kind text,
    name varchar,
    source varchar,
    routing_key varchar,
    arguments jsonb,
    durable boolean,
    auto_delete boolean,
    unbind boolean)
returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $fn$
#variable_conflict use_column
declare
    v_name_label text := case declaration_request.kind when 'exchange_binding' then 'destination' else 'queue' end;
    v_source_label text := case declaration_request.kind when 'exchange_binding' then 'source' else 'exchange' end;
    v_bridge_waiting boolean;
    v_publisher_role name;
    v_max_pending_rows bigint;
    v_tx xid8;
    v_id bigint;
begin
    -- Parameters are written declaration_request.<name>: they share names with columns.
    if declaration_request.broker_id is null then
        raise exception using errcode = '22004',
            message = pg_catalog.format('%s: broker_id must not be null', declaration_request.fn),
            hint = 'pass the broker_id of a row in amqp.broker';
    elsif declaration_request.name is null then
        raise exception using errcode = '22004',
            message = pg_catalog.format('%s: %s must not be null', declaration_request.fn, v_name_label),
            hint = case v_name_label when 'queue' then 'pass the name of the queue'
                                     else 'pass the name of the exchange the binding delivers to' end;
    elsif declaration_request.kind <> 'queue' and declaration_request.source is null then
        raise exception using errcode = '22004',
            message = pg_catalog.format('%s: %s must not be null', declaration_request.fn, v_source_label),
            hint = 'pass the name of the exchange the binding takes messages from';
    elsif declaration_request.kind <> 'queue' and declaration_request.routing_key is null then
        raise exception using errcode = '22004',
            message = pg_catalog.format('%s: routing_key must not be null', declaration_request.fn),
            hint = 'pass '''' to bind without a key (fanout and headers exchanges ignore it)';
    elsif declaration_request.kind = 'queue' and (declaration_request.durable is null or declaration_request.auto_delete is null) then
        raise exception using errcode = '22004',
            message = pg_catalog.format('%s: durable and auto_delete must not be null', declaration_request.fn),
            hint = 'pass true or false, or leave them out (durable => true, auto_delete => false)';
    end if;
    if declaration_request.name = '' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: %s must not be empty', declaration_request.fn, v_name_label),
            hint = case v_name_label when 'queue' then 'name the queue: a queue the broker names itself cannot be '
                                                       || 'declared again after a reconnect'
                                     else 'the default exchange '''' takes no bindings; name a declared exchange' end;
    elsif declaration_request.kind <> 'queue' and declaration_request.source = '' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: %s must not be the default exchange ''''', declaration_request.fn,
                v_source_label),
            hint = 'every queue is bound to the default exchange by its own name already; name a declared exchange';
    end if;
    if pg_catalog.octet_length(declaration_request.name) > 255 then
        raise exception using errcode = '22001',
            message = pg_catalog.format('%s: %s is %s bytes long, AMQP allows at most 255', declaration_request.fn,
                v_name_label, pg_catalog.octet_length(declaration_request.name)),
            hint = 'queue and exchange names are AMQP short strings: at most 255 bytes in UTF-8';
    elsif pg_catalog.octet_length(declaration_request.source) > 255 then
        raise exception using errcode = '22001',
            message = pg_catalog.format('%s: %s is %s bytes long, AMQP allows at most 255', declaration_request.fn,
                v_source_label, pg_catalog.octet_length(declaration_request.source)),
            hint = 'exchange names are AMQP short strings: at most 255 bytes in UTF-8';
    elsif pg_catalog.octet_length(declaration_request.routing_key) > 255 then
        raise exception using errcode = '22001',
            message = pg_catalog.format('%s: routing_key is %s bytes long, AMQP allows at most 255',
                declaration_request.fn, pg_catalog.octet_length(declaration_request.routing_key)),
            hint = 'routing keys are AMQP short strings: at most 255 bytes in UTF-8';
    end if;
    -- RabbitMQ refuses (403) to declare queues named amq.*: it reserves them.
    if declaration_request.kind = 'queue' and pg_catalog.left(declaration_request.name, 4) = 'amq.' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: queue names starting with amq. are reserved, cannot declare %L',
                declaration_request.fn, declaration_request.name),
            hint = 'choose another name';
    end if;
    if declaration_request.arguments is not null then
        perform amqp.declaration_arguments_check(declaration_request.fn, declaration_request.arguments);
    end if;

    select s.bridge_waiting_until > pg_catalog.now(), s.publisher_role, s.max_pending_rows
      into v_bridge_waiting, v_publisher_role, v_max_pending_rows
      from amqp.broker_state s
     where s.broker_id = declaration_request.broker_id;
    if not found then
        raise exception using errcode = '23503',
            message = pg_catalog.format('%s: unknown broker_id %s', declaration_request.fn, declaration_request.broker_id),
            hint = 'insert the broker first: insert into amqp.broker(host, port, vhost, username, password) values (...)';
    end if;
    if v_publisher_role is not null or v_max_pending_rows is not null then
        perform amqp.broker_policy_check(declaration_request.broker_id, declaration_request.fn, v_publisher_role,
            v_max_pending_rows, 1);
    end if;

    -- Before any write: the xid must exist before the outbox id's nextval (see amqp.outbox.tx).
    v_tx := pg_catalog.pg_current_xact_id();
    insert into amqp.topology_declaration as t
        (broker_id, kind, name, source, routing_key, arguments, durable, auto_delete, unbind, requested_at, status,
         applied_at, last_error)
    values
        (declaration_request.broker_id, declaration_request.kind, declaration_request.name,
         coalesce(declaration_request.source, ''), coalesce(declaration_request.routing_key, ''), declaration_request.arguments,
         declaration_request.durable, declaration_request.auto_delete, declaration_request.unbind, pg_catalog.now(), 'pending',
         null, null)
    on conflict (broker_id, kind, name, source, routing_key,
                 (case when kind = 'queue' then '{}'::jsonb else coalesce(arguments, '{}'::jsonb) end))
    do update
        set arguments = excluded.arguments,
            durable = excluded.durable,
            auto_delete = excluded.auto_delete,
            unbind = excluded.unbind,
            requested_at = excluded.requested_at,
            status = 'pending',
            applied_at = null,
            last_error = null
    returning t.id into v_id;
    insert into amqp.outbox as o (broker_id, tx, kind, exchange, routing_key, body)
    values (declaration_request.broker_id, v_tx, 't', declaration_request.name, '', v_id::text);

    if v_bridge_waiting then
        perform pg_catalog.pg_notify('amqp_outbox', declaration_request.broker_id::text);
    end if;
    return true;
end
$fn$;

comment on function amqp.declaration_request(text, integer, text, varchar, varchar, varchar, jsonb, boolean, boolean,
    boolean) is
'Internal: checks and records a queue, binding or unbind request for the bridge; the body of amqp.queue_declare, '
'queue_bind, exchange_bind, queue_unbind and exchange_unbind. Returns true.';
