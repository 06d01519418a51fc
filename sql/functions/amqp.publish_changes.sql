-- amqp.publish_changes: trigger function that publishes table changes as JSON messages, sent when the changing
-- transaction commits, in the order the changes happened:
--   create trigger orders_events after insert or update or delete on orders
--       for each row execute function amqp.publish_changes(1, 'db.events', 'orders.{op}');
-- Arguments: broker_id, exchange, routing-key template ({schema}, {table}, {op}: insert|update|delete|truncate).
-- Body: {"op", "schema", "table", "old", "new", "xid", "at"} (old/new: the row as JSON, null where absent; at: the
-- transaction's timestamp), content_type application/json, headers pgamqp-table (schema.table) and pgamqp-op.
-- As a statement-level trigger with transition tables (referencing old table as ... new table as ...) it queues every
-- row of the statement with one INSERT; "after truncate ... for each statement" sends one truncate event.
-- Bad use (argument count, an unknown placeholder, a BEFORE or INSTEAD OF trigger) raises an ERROR with a HINT at the
-- first firing, and the change is not made.

-- SECURITY DEFINER, as every function writing the outbox; what it sends is only what the trigger's table owner
-- chose (CREATE TRIGGER needs that table's TRIGGER privilege and EXECUTE on this function, see grants.sql). The
-- statement-level form finds the transition tables' names in pg_trigger and reads them through EXECUTE: plpgsql knows
-- them only by name.
create or replace function amqp.publish_changes()
returns trigger
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $fn$
declare
    v_broker_id integer;
    v_exchange text;
    v_template text;
    v_op text := pg_catalog.lower(tg_op);
    v_routing_key text;
    v_unknown text;
    v_old_table name;
    v_new_table name;
    v_queued bigint;
    v_longest integer;
    v_rows text;
    v_prefix text;
    v_suffix text;
    v_headers jsonb;
    v_max_body_bytes integer;
    v_bridge_waiting boolean;
    v_publisher_role name;
    v_max_pending_rows bigint;
begin
    if tg_nargs <> 3 then
        raise exception using errcode = '22023',
            message = pg_catalog.format('amqp.publish_changes: trigger %I on %I.%I has %s arguments, needs 3',
                tg_name, tg_table_schema, tg_table_name, tg_nargs),
            hint = 'pass broker_id, exchange and a routing-key template: execute function '
                || 'amqp.publish_changes(1, ''db.events'', ''{table}.{op}'')';
    end if;
    if tg_when <> 'AFTER' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('amqp.publish_changes: trigger %I on %I.%I fires %s; it must fire AFTER',
                tg_name, tg_table_schema, tg_table_name, tg_when),
            hint = 'create it as an AFTER trigger: a BEFORE trigger sees changes that later triggers or constraints '
                || 'may still undo or alter';
    end if;
    v_template := tg_argv[2];
    v_unknown := (select pg_catalog.string_agg(m[1], ', ')
                    from pg_catalog.regexp_matches(v_template, '(\{[^}]*\})', 'g') as m
                   where m[1] not in ('{schema}', '{table}', '{op}'));
    if v_unknown is not null then
        raise exception using errcode = '22023',
            message = pg_catalog.format('amqp.publish_changes: routing-key template %L of trigger %I names %s',
                v_template, tg_name, v_unknown),
            hint = 'the placeholders are {schema}, {table} and {op}';
    end if;
    begin
        v_broker_id := tg_argv[0]::integer;
    exception when invalid_text_representation or numeric_value_out_of_range then
        raise exception using errcode = '22023',
            message = pg_catalog.format('amqp.publish_changes: broker_id %L of trigger %I is not an integer',
                tg_argv[0], tg_name),
            hint = 'pass the broker_id of a row in amqp.broker as the first argument';
    end;
    v_exchange := tg_argv[1];
    v_routing_key := pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(v_template,
        '{schema}', tg_table_schema), '{table}', tg_table_name), '{op}', v_op);

    -- Every body is {"op", "schema", "table", "old", "new", "xid", "at"} in that order: the row's JSON (to_json, as
    -- PostgreSQL writes it) between a prefix and a suffix built once per firing.
    v_headers := pg_catalog.jsonb_build_object('pgamqp-table', tg_table_schema || '.' || tg_table_name, 'pgamqp-op', v_op);
    v_prefix := '{"op": ' || pg_catalog.to_json(v_op)::text || ', "schema": ' || pg_catalog.to_json(tg_table_schema)::text
        || ', "table": ' || pg_catalog.to_json(tg_table_name)::text || ', "old": ';
    v_suffix := ', "xid": "' || pg_catalog.pg_current_xact_id()::text || '", "at": '
        || pg_catalog.to_json(pg_catalog.now())::text || '}';

    if tg_level = 'ROW' or tg_op = 'TRUNCATE' then
        -- OLD is null for an INSERT, NEW for a DELETE; a TRUNCATE has neither.
        perform amqp.enqueue('amqp.publish_changes', v_broker_id, v_exchange, v_routing_key,
            v_prefix || case when tg_level = 'ROW' then coalesce(pg_catalog.to_json(old)::text, 'null') else 'null' end
                || ', "new": '
                || case when tg_level = 'ROW' then coalesce(pg_catalog.to_json(new)::text, 'null') else 'null' end
                || v_suffix,
            null, null, 'application/json', null, null, v_headers, null, null, null, null, null, null, null);
        return null;
    end if;

    -- Statement level: the transition tables by the names the trigger gave them.
    select t.tgoldtable, t.tgnewtable into v_old_table, v_new_table
      from pg_catalog.pg_trigger t
     where t.tgrelid = tg_relid and t.tgname = tg_name;
    if (tg_op in ('UPDATE', 'DELETE') and v_old_table is null) or (tg_op in ('INSERT', 'UPDATE') and v_new_table is null)
    then
        raise exception using errcode = '22023',
            message = pg_catalog.format('amqp.publish_changes: statement-level trigger %I on %I.%I has no %s transition '
                || 'table for %s', tg_name, tg_table_schema, tg_table_name,
                case when v_old_table is null and tg_op <> 'INSERT' then 'old' else 'new' end, v_op),
            -- PostgreSQL takes transition tables only on single-event triggers: one trigger per event.
            hint = 'declare it, one trigger per event: after insert ... referencing new table as added, after update '
                || '... referencing old table as before new table as after, after delete ... referencing old table as '
                || 'gone, each for each statement; or use for each row';
    end if;
    -- One INSERT for the statement, straight from the transition tables: the arguments and the broker are checked
    -- once, as publish_many would (publish_many itself would first copy every body into an array, 3x the cost), and
    -- each body is the row's JSON between a prefix and a suffix built once. An UPDATE's old and new rows are paired
    -- by their position in the two transition tables, which PostgreSQL fills in the same order.
    if amqp.message_is_bad(v_broker_id, v_exchange, v_routing_key, true, null, 'application/json', null, null, null,
            null, null, null, null, null) then
        perform amqp.message_refuse('amqp.publish_changes', v_broker_id, v_exchange, v_routing_key, true, null,
            'application/json', null, null, null, null, null, null, null, null);
    end if;
    select s.max_body_bytes, s.bridge_waiting_until > pg_catalog.now(), s.publisher_role, s.max_pending_rows
      into v_max_body_bytes, v_bridge_waiting, v_publisher_role, v_max_pending_rows
      from amqp.broker_state s
     where s.broker_id = v_broker_id;
    if not found then
        raise exception using errcode = '23503',
            message = pg_catalog.format('amqp.publish_changes: unknown broker_id %s', v_broker_id),
            hint = 'insert the broker first: insert into amqp.broker(host, port, vhost, username, password) values (...)';
    end if;
    v_rows := case when v_old_table is null
                   then pg_catalog.format('(select null::record as o, x as n, 0::bigint as i from %I x) r', v_new_table)
                   when v_new_table is null
                   then pg_catalog.format('(select x as o, null::record as n, 0::bigint as i from %I x) r', v_old_table)
                   else pg_catalog.format('(select o.x as o, n.x as n, o.i from (select x, pg_catalog.row_number() over ()'
                       || ' as i from %I x) o join (select x, pg_catalog.row_number() over () as i from %I x) n'
                       || ' on n.i = o.i) r', v_old_table, v_new_table) end;
    if v_publisher_role is not null or v_max_pending_rows is not null then
        execute 'select pg_catalog.count(*) from ' || v_rows into v_queued;
        perform amqp.broker_policy_check(v_broker_id, 'amqp.publish_changes', v_publisher_role, v_max_pending_rows,
            v_queued::integer);
    end if;
    -- The xid exists already (this transaction changed the table), before the ids' nextvals (see amqp.outbox.tx).
    execute 'with ins as (insert into amqp.outbox (broker_id, tx, exchange, routing_key, body, content_type, headers)'
        || ' select $1, pg_catalog.pg_current_xact_id(), $2, $3, $4 || coalesce(pg_catalog.to_json(r.o)::text, ''null'')'
        || ' || '', "new": '' || coalesce(pg_catalog.to_json(r.n)::text, ''null'') || $5, ''application/json'', $6'
        || ' from ' || v_rows || ' order by r.i returning pg_catalog.octet_length(body) as len)'
        || ' select pg_catalog.count(*), pg_catalog.max(ins.len) from ins'
       into v_queued, v_longest
       using v_broker_id, v_exchange, v_routing_key, v_prefix, v_suffix, v_headers;
    if v_longest + pg_catalog.octet_length(v_headers::text) > v_max_body_bytes then
        raise exception using errcode = '54000',
            message = pg_catalog.format('amqp.publish_changes: a change event of %s bytes with %s bytes of headers '
                || 'exceeds max_body_bytes %s of broker_id %s', v_longest, pg_catalog.octet_length(v_headers::text),
                v_max_body_bytes, v_broker_id),
            hint = 'raise amqp.broker_state.max_body_bytes for this broker, or publish changes of narrower rows';
    end if;
    -- One notification for the statement; folded with others of this transaction, sent at commit.
    if v_queued > 0 and v_bridge_waiting then
        perform pg_catalog.pg_notify('amqp_outbox', v_broker_id::text);
    end if;
    return null;
end
$fn$;

comment on function amqp.publish_changes() is
'Trigger function: publishes each change of the table (row or statement level, and truncate) as a JSON message '
'{op, schema, table, old, new, xid, at} with headers pgamqp-table and pgamqp-op, sent on commit. Arguments: '
'broker_id, exchange, routing-key template with {schema}, {table}, {op}.';
