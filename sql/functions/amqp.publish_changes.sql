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

    if tg_level = 'ROW' then
        perform amqp.enqueue('amqp.publish_changes', v_broker_id, v_exchange, v_routing_key,
            pg_catalog.jsonb_build_object('op', v_op, 'schema', tg_table_schema, 'table', tg_table_name,
                'old', case when tg_op in ('UPDATE', 'DELETE') then pg_catalog.to_jsonb(old) end,
                'new', case when tg_op in ('INSERT', 'UPDATE') then pg_catalog.to_jsonb(new) end,
                'xid', pg_catalog.pg_current_xact_id()::text, 'at', pg_catalog.now())::text,
            null, null, 'application/json', null, null,
            pg_catalog.jsonb_build_object('pgamqp-table', tg_table_schema || '.' || tg_table_name, 'pgamqp-op', v_op),
            null, null, null, null, null, null);
        return null;
    end if;

    if tg_op = 'TRUNCATE' then
        perform amqp.enqueue('amqp.publish_changes', v_broker_id, v_exchange, v_routing_key,
            pg_catalog.jsonb_build_object('op', v_op, 'schema', tg_table_schema, 'table', tg_table_name,
                'old', null, 'new', null, 'xid', pg_catalog.pg_current_xact_id()::text, 'at', pg_catalog.now())::text,
            null, null, 'application/json', null, null,
            pg_catalog.jsonb_build_object('pgamqp-table', tg_table_schema || '.' || tg_table_name, 'pgamqp-op', v_op),
            null, null, null, null, null, null);
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
            hint = 'declare them: create trigger ... after insert or update or delete on ... referencing old table as '
                || 'old_rows new table as new_rows for each statement execute function amqp.publish_changes(...); '
                || 'or use for each row';
    end if;
    -- One INSERT for the statement, through publish_many: its checks, one NOTIFY. An UPDATE's old and new rows are
    -- paired by their position in the two transition tables, which PostgreSQL fills in the same order.
    execute pg_catalog.format(
        'select amqp.publish_many($1, $2, array[$3], pg_catalog.array_agg(pg_catalog.jsonb_build_object(''op'', $4,'
        || ' ''schema'', $5, ''table'', $6, ''old'', o.r, ''new'', n.r, ''xid'', pg_catalog.pg_current_xact_id()::text,'
        || ' ''at'', pg_catalog.now())::text order by coalesce(n.i, o.i)), null, ''application/json'', null, null, $7)'
        || ' from %s full join %s on o.i = n.i',
        case when v_old_table is null then '(select null::jsonb as r, null::bigint as i where false) as o'
             else pg_catalog.format('(select pg_catalog.to_jsonb(x) as r, pg_catalog.row_number() over () as i'
                                    || ' from %I x) as o', v_old_table) end,
        case when v_new_table is null then '(select null::jsonb as r, null::bigint as i where false) as n'
             else pg_catalog.format('(select pg_catalog.to_jsonb(x) as r, pg_catalog.row_number() over () as i'
                                    || ' from %I x) as n', v_new_table) end)
       into v_queued
       using v_broker_id, v_exchange, v_routing_key, v_op, tg_table_schema, tg_table_name,
             pg_catalog.jsonb_build_object('pgamqp-table', tg_table_schema || '.' || tg_table_name, 'pgamqp-op', v_op);
    return null;
end
$fn$;

comment on function amqp.publish_changes() is
'Trigger function: publishes each change of the table (row or statement level, and truncate) as a JSON message '
'{op, schema, table, old, new, xid, at} with headers pgamqp-table and pgamqp-op, sent on commit. Arguments: '
'broker_id, exchange, routing-key template with {schema}, {table}, {op}.';
