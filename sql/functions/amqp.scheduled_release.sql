-- amqp.scheduled_release: the bridge's step for delayed messages: move up to max_rows of a broker's due messages
-- from amqp.scheduled into amqp.outbox, in due order, and say when the next one falls due.

-- The moved rows get their outbox ids here, so they go out after everything already queued and before what is
-- published later: "due now" is ordered like any publish at this moment. A delayed message's created_at (the AMQP
-- timestamp and what amqp.status ages rows by) becomes deliver_at: a message due now is not a week old; a refused
-- one back for its retry (attempts > 0, amqp.outbox_defer) keeps its own. SKIP LOCKED: a second
-- caller (a bridge taking over) moves other rows or none, never the same twice. The bridge's role may not write the
-- outbox; this runs as the owner, for amqp_bridge only. The bridge's sessions plan with enable_sort off (their
-- outbox queries must use the index order); the moved rows' sort is needed here, and at that sort's penalty cost
-- the planner would JIT-compile the statement: 130 ms per call, measured.
create or replace function amqp.scheduled_release(
    broker_id integer,
    max_rows integer,
    out released integer,
    out next_due_in double precision)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
set enable_sort = on
set jit = off
as $fn$
declare
    v_tx xid8;
    v_now timestamptz;
begin
    if scheduled_release.broker_id is null or scheduled_release.max_rows is null or scheduled_release.max_rows < 1 then
        raise exception using errcode = '22023',
            message = pg_catalog.format('amqp.scheduled_release: broker_id %s and max_rows %s are invalid',
                scheduled_release.broker_id, scheduled_release.max_rows),
            hint = 'pass a broker_id and a max_rows of 1 or more';
    end if;
    -- Before any write: the xid must exist before the outbox ids' nextval (see amqp.outbox.tx).
    v_tx := pg_catalog.pg_current_xact_id();
    -- A value, not clock_timestamp() in the WHERE: a volatile call is no index condition, and the scan would filter
    -- every scheduled row (210 ms with 1,000,000 due next week, measured) to find the due ones.
    v_now := pg_catalog.clock_timestamp();
    with due as (
        select s.broker_id, s.deliver_at, s.id
          from amqp.scheduled s
         where s.broker_id = scheduled_release.broker_id and s.deliver_at <= v_now
         order by s.deliver_at, s.id
         limit scheduled_release.max_rows
           for update skip locked),
    moved as (
        delete from amqp.scheduled s
         using due
         where s.broker_id = due.broker_id and s.deliver_at = due.deliver_at and s.id = due.id
        returning s.*)
    insert into amqp.outbox as o
        (broker_id, tx, exchange, routing_key, body, body_bytes, delivery_mode, content_type, reply_to,
         correlation_id, message_id, created_at, headers, type, app_id, expiration_ms, priority, content_encoding,
         attempts, last_error)
    select m.broker_id, v_tx, m.exchange, m.routing_key, m.body, m.body_bytes, m.delivery_mode, m.content_type,
           m.reply_to, m.correlation_id, m.message_id,
           case when m.attempts > 0 then m.created_at else m.deliver_at end, m.headers, m.type, m.app_id, m.expiration_ms,
           m.priority, m.content_encoding, m.attempts, m.last_error
      from moved m
     order by m.deliver_at, m.id;
    get diagnostics released = row_count;
    select extract(epoch from pg_catalog.min(s.deliver_at) operator(pg_catalog.-) pg_catalog.clock_timestamp())
      into next_due_in
      from amqp.scheduled s
     where s.broker_id = scheduled_release.broker_id;
end
$fn$;

comment on function amqp.scheduled_release(integer, integer) is
'Internal, for the bridge: moves up to max_rows due messages of a broker from amqp.scheduled into amqp.outbox; '
'returns how many, and the seconds until the next one is due (null: none scheduled).';
