-- amqp.broker_state: one row per broker_id with pgamqp's per-broker settings, the bridge's wake-up
-- flag and what the bridge reports about itself. Kept in sync with amqp.broker by the trigger in
-- amqp.broker_changed.sql; read by publish on every call, so upgrades must not lock it needlessly.

create table if not exists amqp.broker_state (
    broker_id integer primary key,
    max_body_bytes integer not null default 8388608 check (max_body_bytes > 0),
    on_unroutable text not null default 'dead_letter' check (on_unroutable in ('dead_letter', 'drop')),
    -- Written by the bridge, shown by amqp.status; null until it has something to say.
    owner text,                     -- the bridge process draining this broker ('host:pid')
    owned_since timestamptz,        -- when that process took the broker over
    connected_to text,              -- 'host:port' of the live AMQP connection; null while disconnected
    connected_since timestamptz,
    last_confirm_at timestamptz,    -- the broker's last publisher confirm
    last_error text,                -- the last connection or publish failure, kept after recovery
    last_error_at timestamptz,
    -- The bridge sets this while it sleeps on LISTEN amqp_outbox and renews it while it sleeps; publish
    -- NOTIFYs only before this time: a NOTIFY in every transaction serialises committers and halves the
    -- commit rate. A deadline, not a flag, so that a bridge that was killed asleep costs publishers
    -- nothing once it lapses (pgamqp.bridge.wakeup-lease). Null: nobody is listening. Last, where an
    -- upgrade adds it.
    bridge_waiting_until timestamptz,
    -- Opt-in limits on who and how much may publish to this broker (amqp.broker_policy_check.sql); null,
    -- the default, leaves publishing as pg_amqp had it: any role, no bound.
    publisher_role name,            -- only members of this role (checked for the session's login role)
    max_pending_rows bigint check (max_pending_rows > 0)  -- at most this many rows waiting in the outbox
);

-- Installs older than the columns above get them here. `add column if not exists` would take an
-- ACCESS EXCLUSIVE lock even when it adds nothing, queueing every publish behind the longest open
-- transaction on each re-run: so look in the catalog first and alter only when something is missing
-- (then once, in one statement, in the order above).
do $$
declare
    v_missing text;
begin
    select pg_catalog.string_agg(pg_catalog.format('add column %I %s', c.name, c.type), ', ' order by c.n)
      into v_missing
      from (values (1, 'owner', 'text'), (2, 'owned_since', 'timestamptz'), (3, 'connected_to', 'text'),
                   (4, 'connected_since', 'timestamptz'), (5, 'last_confirm_at', 'timestamptz'),
                   (6, 'last_error', 'text'), (7, 'last_error_at', 'timestamptz'),
                   (8, 'bridge_waiting_until', 'timestamptz'), (9, 'publisher_role', 'name'),
                   (10, 'max_pending_rows', 'bigint check (max_pending_rows > 0)')) as c(n, name, type)
     where not exists (select from pg_catalog.pg_attribute a
                        where a.attrelid = 'amqp.broker_state'::pg_catalog.regclass
                          and a.attname = c.name and a.attnum > 0 and not a.attisdropped);
    -- The flag that bridge_waiting_until replaced: a bridge killed while asleep left it true for good.
    if exists (select from pg_catalog.pg_attribute a
                where a.attrelid = 'amqp.broker_state'::pg_catalog.regclass
                  and a.attname = 'bridge_waiting' and a.attnum > 0 and not a.attisdropped) then
        v_missing := pg_catalog.concat_ws(', ', v_missing, 'drop column bridge_waiting');
    end if;
    if v_missing is not null then
        execute 'alter table amqp.broker_state ' || v_missing;
    end if;
end
$$;

comment on table amqp.broker_state is
'Per-broker pgamqp settings (max_body_bytes, on_unroutable), the bridge''s wake-up request (bridge_waiting_until) and its '
'runtime report (owner, connection, last confirm, last error); one row per amqp.broker broker_id, '
'maintained by trigger. See amqp.status.';

-- Brokers that existed before this table (a pg_amqp migration, or an older install) get their row.
-- Only missing ones: on a re-run the trigger of amqp.broker_state_replace.sql would replace
-- existing rows (and their settings) with defaults.
insert into amqp.broker_state (broker_id)
select distinct b.broker_id from amqp.broker b
 where not exists (select from amqp.broker_state s where s.broker_id = b.broker_id)
on conflict (broker_id) do nothing;
