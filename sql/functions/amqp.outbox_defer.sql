-- amqp.outbox_defer: the bridge's step for a message the broker refused on its own account (a nack, a channel error
-- it caused): move it from amqp.outbox to amqp.scheduled, due after its own backoff, with the attempt counted.

-- Retried in place, it would be the oldest pending row and every later message would wait behind its backoff; out
-- of the way, the others flow and it comes back (amqp.scheduled_release) when due, behind what is queued then. The
-- AMQP message-id stays what it was (the original outbox id unless the publisher chose one), so consumers still
-- recognise a duplicate. Bridge only (it may not write amqp.scheduled itself).
create or replace function amqp.outbox_defer(
    broker_id integer,
    outbox_ids bigint[],
    reasons text[],
    delays_ms bigint[])
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
    if pg_catalog.cardinality(outbox_defer.outbox_ids) is distinct from pg_catalog.cardinality(outbox_defer.reasons)
            or pg_catalog.cardinality(outbox_defer.outbox_ids)
               is distinct from pg_catalog.cardinality(outbox_defer.delays_ms) then
        raise exception using errcode = '22023',
            message = 'amqp.outbox_defer: outbox_ids, reasons and delays_ms must have the same length',
            hint = 'pass one reason and one delay per outbox id';
    end if;
    -- The id range keeps the plan an index range scan however stale the statistics are (as in dead_letter_outbox).
    select pg_catalog.min(i), pg_catalog.max(i) into v_first, v_last
      from pg_catalog.unnest(outbox_defer.outbox_ids) as i;
    with moved as (
        delete from amqp.outbox o
         using rows from (pg_catalog.unnest(outbox_defer.outbox_ids), pg_catalog.unnest(outbox_defer.reasons),
                          pg_catalog.unnest(outbox_defer.delays_ms)) as r(id, reason, delay_ms)
         where o.broker_id = outbox_defer.broker_id and o.id >= v_first and o.id <= v_last and o.id = r.id
     returning o.*, r.reason, r.delay_ms)
    insert into amqp.scheduled (broker_id, deliver_at, exchange, routing_key, body, body_bytes, delivery_mode,
        content_type, reply_to, correlation_id, message_id, created_at, headers, type, app_id, expiration_ms,
        priority, content_encoding, attempts, last_error)
    select m.broker_id, pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs => m.delay_ms / 1000.0),
           m.exchange, m.routing_key, m.body, m.body_bytes, m.delivery_mode, m.content_type, m.reply_to,
           m.correlation_id, coalesce(m.message_id, m.id::text), m.created_at, m.headers, m.type, m.app_id,
           m.expiration_ms, m.priority, m.content_encoding, m.attempts + 1, m.reason
      from moved m;
    get diagnostics v_moved = row_count;
    return v_moved;
end
$fn$;

comment on function amqp.outbox_defer(integer, bigint[], text[], bigint[]) is
'Bridge only: moves refused outbox rows (broker_id, outbox_ids) to amqp.scheduled, due after delays_ms, with the '
'attempt counted and the reason kept. Returns the number moved.';
