-- amqp.broker_status: one row per broker_id saying how the bridge is doing (addresses, backlog, age
-- of the oldest pending row, dead letters, the bridge's own report); returns those rows. Read it
-- through the view amqp.status, defined below.

-- Cheap however large the backlog. Measured here on a 1M-row outbox: the whole view 8 ms (20-25 ms
-- while the visibility map is not yet set), where an exact count alone takes 0.1-0.45 s and a plain
-- view with per-broker count(*) planned a seq scan per broker plus JIT, ~1 s. How:
-- * the oldest row is one probe of amqp.outbox's (broker_id, id) primary key;
-- * backlog and dead_letters are counted in index order (index-only while the visibility map is
--   current) but stop at 100,000 (backlog_capped / dead_letters_capped are then true): "more than
--   100,000" is all an alert needs, and oldest_pending_age says how late the bridge is;
-- * one broker at a time with custom plans (plan_cache_mode), so the planner sees that broker's
--   statistics: a broker with few dead letters among millions of another's uses the (broker_id, id)
--   index instead of walking the primary key;
-- * jit is off: compiling costs more (~0.35 s) than these short index scans.
-- The SET clauses are why this is a function and amqp.status a view on it. Every outbox row, kind
-- 'p' (message), 'd' or 't' (declarations), is waiting for the bridge.
-- Changing the result columns: drop view amqp.status and this function first (neither CREATE OR
-- REPLACE can change them), then create both: an install older than the last column added does so here (grants.sql
-- grants the view again).
do $$
begin
    if pg_catalog.to_regprocedure('amqp.broker_status()') is not null
            and not exists (select from pg_catalog.pg_proc p
                             where p.oid = pg_catalog.to_regprocedure('amqp.broker_status()')
                               and 'held_destinations' = any(p.proargnames)) then
        drop view if exists amqp.status;
        drop function amqp.broker_status();
    end if;
end
$$;

create or replace function amqp.broker_status()
returns table (
    broker_id integer,
    addresses text,
    backlog bigint,
    backlog_capped boolean,
    oldest_pending_age interval,
    dead_letters bigint,
    dead_letters_capped boolean,
    last_error text,
    last_error_at timestamptz,
    owner text,
    owned_since timestamptz,
    connected_to text,
    connected_since timestamptz,
    last_confirm_at timestamptz,
    bridge_waiting boolean,
    scheduled bigint,
    scheduled_capped boolean,
    next_due_at timestamptz,
    held_destinations jsonb)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
set plan_cache_mode = force_custom_plan
set jit = off
as $fn$
declare
    c_cap constant bigint := 100000;
    v_state record;
begin
    -- The output columns are variables named like table columns: columns always carry an alias.
    -- Also the broker_ids that are gone from amqp.broker but still have messages in the outbox: they
    -- are kept (never dropped) and sent once a row with that broker_id is inserted again. Found by a
    -- skip scan of the outbox's primary key, one probe per distinct broker_id.
    for v_state in
        -- Named columns, not s.*: an upgraded install has its columns in another order than a new one.
        select s.broker_id, s.owner, s.owned_since, s.connected_to, s.connected_since, s.last_confirm_at,
               s.last_error, s.last_error_at, coalesce(s.bridge_waiting_until > pg_catalog.now(), false) as waiting
          from amqp.broker_state s
        union all
        select gone.broker_id, null, null, null, null, null,
               pg_catalog.format('broker_id %s was removed from amqp.broker; its messages wait in amqp.outbox '
                   || 'until a broker with this broker_id is inserted again', gone.broker_id), null, false
          from (with recursive ids(id) as (
                    select pg_catalog.min(o.broker_id) from amqp.outbox o
                    union all
                    select (select pg_catalog.min(o.broker_id) from amqp.outbox o where o.broker_id > ids.id)
                      from ids where ids.id is not null)
                select ids.id as broker_id from ids
                 where ids.id is not null
                   and not exists (select from amqp.broker_state s where s.broker_id = ids.id)) gone
        order by 1
    loop
        broker_status.broker_id := v_state.broker_id;

        select pg_catalog.string_agg(
                   case when pg_catalog.strpos(b.host, ':') > 0 then '[' || b.host || ']' else b.host end
                       || ':' || b.port,
                   ', ' order by b.host desc, b.port)   -- the order the bridge tries them in
          into broker_status.addresses
          from amqp.broker b
         where b.broker_id = v_state.broker_id;

        select pg_catalog.count(*) into broker_status.backlog
          from (select from amqp.outbox o
                 where o.broker_id = v_state.broker_id
                 order by o.id
                 limit c_cap + 1) capped;
        broker_status.backlog_capped := broker_status.backlog > c_cap;
        broker_status.backlog := least(broker_status.backlog, c_cap);

        -- No row: null. now() is when this transaction started: a row committed since may be younger.
        select greatest(pg_catalog.now() - o.created_at, interval '0') into broker_status.oldest_pending_age
          from amqp.outbox o
         where o.broker_id = v_state.broker_id
         order by o.id
         limit 1;

        select pg_catalog.count(*) into broker_status.dead_letters
          from (select from amqp.dead_letter d
                 where d.broker_id = v_state.broker_id
                 order by d.id
                 limit c_cap + 1) capped;
        broker_status.dead_letters_capped := broker_status.dead_letters > c_cap;
        broker_status.dead_letters := least(broker_status.dead_letters, c_cap);

        broker_status.last_error := v_state.last_error;
        broker_status.last_error_at := v_state.last_error_at;
        broker_status.owner := v_state.owner;
        broker_status.owned_since := v_state.owned_since;
        broker_status.connected_to := v_state.connected_to;
        broker_status.connected_since := v_state.connected_since;
        broker_status.last_confirm_at := v_state.last_confirm_at;
        broker_status.bridge_waiting := v_state.waiting;

        -- Delayed messages (amqp.scheduled), counted like the backlog; the next due is one probe of its key.
        select pg_catalog.count(*) into broker_status.scheduled
          from (select from amqp.scheduled s
                 where s.broker_id = v_state.broker_id
                 order by s.deliver_at, s.id
                 limit c_cap + 1) capped;
        broker_status.scheduled_capped := broker_status.scheduled > c_cap;
        broker_status.scheduled := least(broker_status.scheduled, c_cap);
        select s.deliver_at into broker_status.next_due_at
          from amqp.scheduled s
         where s.broker_id = v_state.broker_id
         order by s.deliver_at, s.id
         limit 1;

        -- Destinations the bridge holds back (amqp.held_destination), each with its messages waiting (counted up to
        -- 100,000): a filter over the broker's rows in key order, read only while something is held.
        select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('exchange', h.exchange, 'since', h.since,
                   'waiting', (select pg_catalog.count(*) from (select from amqp.outbox o
                                where o.broker_id = h.broker_id and o.exchange = h.exchange and o.kind = 'p'
                                order by o.id limit c_cap + 1) w),
                   'expired', h.expired, 'last_error', h.last_error) order by h.since, h.exchange)
          into broker_status.held_destinations
          from amqp.held_destination h
         where h.broker_id = v_state.broker_id;
        return next;
    end loop;
end
$fn$;

comment on function amqp.broker_status() is
'The rows of the view amqp.status (one per broker_id); see there.';

create or replace view amqp.status as
select st.broker_id, st.addresses, st.backlog, st.backlog_capped, st.oldest_pending_age, st.dead_letters,
       st.dead_letters_capped, st.last_error, st.last_error_at, st.owner, st.owned_since, st.connected_to,
       st.connected_since, st.last_confirm_at, st.bridge_waiting, st.scheduled, st.scheduled_capped, st.next_due_at,
       st.held_destinations
  from amqp.broker_status() as st;

comment on view amqp.status is
'One row per broker: addresses (host:port, no passwords), backlog (outbox rows waiting, counted up to '
'100,000: backlog_capped when there are more), oldest_pending_age, dead_letters (also up to 100,000), and '
'the bridge''s report from amqp.broker_state: last_error(_at), owner, owned_since, connected_to, '
'connected_since, last_confirm_at, bridge_waiting; scheduled (messages waiting for their deliver_at, also up to '
'100,000: scheduled_capped) and next_due_at, the earliest deliver_at; held_destinations (exchanges the bridge '
'holds back, null when none: exchange, since, waiting messages, expired, last_error).';
