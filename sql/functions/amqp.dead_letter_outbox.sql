-- amqp.dead_letter_outbox: move outbox rows the bridge gave up on to amqp.dead_letter, each with its reason.
-- Returns how many rows were moved (ids not in the outbox, or of another broker, are skipped).

-- The bridge's only way to write dead letters (amqp_bridge has no INSERT on amqp.dead_letter):
-- every field is copied from the outbox row, so the bridge's role cannot forge a dead letter that
-- an admin's amqp.dead_letter_replay() would then send. outbox_ids and reasons pair up by position.
-- Not for callers: EXECUTE for amqp_bridge only (grants.sql).
create or replace function amqp.dead_letter_outbox(
    broker_id integer,
    outbox_ids bigint[],
    reasons text[])
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $fn$
declare
    v_moved integer;
    v_first bigint;
    v_last bigint;
begin
    if pg_catalog.cardinality(dead_letter_outbox.outbox_ids) is distinct from
            pg_catalog.cardinality(dead_letter_outbox.reasons) then
        raise exception using errcode = '22023',
            message = 'amqp.dead_letter_outbox: outbox_ids and reasons must have the same length',
            hint = 'pass one reason per outbox id';
    end if;
    -- The id range keeps the plan an index range scan however stale the outbox's statistics are (OutboxStore.DELETE).
    select pg_catalog.min(i), pg_catalog.max(i) into v_first, v_last
      from pg_catalog.unnest(dead_letter_outbox.outbox_ids) as i;
    with moved as (
        delete from amqp.outbox o
         using rows from (pg_catalog.unnest(dead_letter_outbox.outbox_ids),
                          pg_catalog.unnest(dead_letter_outbox.reasons)) as r(id, reason)
         where o.broker_id = dead_letter_outbox.broker_id and o.id >= v_first and o.id <= v_last and o.id = r.id
     returning o.*, r.reason)
    insert into amqp.dead_letter (outbox_id, message_id, broker_id, exchange, routing_key, body, body_bytes,
        delivery_mode, content_type, reply_to, correlation_id, created_at, attempts, reason, headers, type, app_id,
        expiration_ms, priority, content_encoding)
    select m.id, coalesce(m.message_id, m.id::text), m.broker_id, m.exchange, m.routing_key,
           case when m.body_bytes is null then coalesce(m.body, '') end, m.body_bytes,
           m.delivery_mode, m.content_type, m.reply_to, m.correlation_id, m.created_at, m.attempts + 1,
           coalesce(m.reason, 'no reason given'), m.headers, m.type, m.app_id, m.expiration_ms, m.priority,
           m.content_encoding
      from moved m;
    get diagnostics v_moved = row_count;
    return v_moved;
end
$fn$;

comment on function amqp.dead_letter_outbox(integer, bigint[], text[]) is
'Bridge only: moves outbox rows (broker_id, outbox_ids) to amqp.dead_letter with the given reasons, '
'copying every field from the row. Returns the number moved.';
