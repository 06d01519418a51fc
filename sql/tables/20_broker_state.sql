-- amqp.broker_state: one row per broker_id with pgamqp's per-broker settings and the bridge's
-- wake-up flag. Kept in sync with amqp.broker by the trigger in amqp.broker_changed.sql.

create table if not exists amqp.broker_state (
    broker_id integer primary key,
    max_body_bytes integer not null default 8388608 check (max_body_bytes > 0),
    on_unroutable text not null default 'dead_letter' check (on_unroutable in ('dead_letter', 'drop')),
    -- The bridge sets this while it sleeps on LISTEN amqp_outbox. publish NOTIFYs only then:
    -- a NOTIFY in every transaction serialises committers and halves the commit rate.
    bridge_waiting boolean not null default false
);

comment on table amqp.broker_state is
'Per-broker pgamqp settings (max_body_bytes, on_unroutable) and the bridge''s bridge_waiting flag; '
'one row per amqp.broker broker_id, maintained by trigger.';

-- Brokers that existed before this table (a pg_amqp migration, or an older install) get their row.
insert into amqp.broker_state (broker_id)
select distinct b.broker_id from amqp.broker b
on conflict (broker_id) do nothing;
