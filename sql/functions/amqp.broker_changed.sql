-- amqp.broker_changed: trigger function keeping amqp.broker_state in step with amqp.broker and
-- telling the bridge (NOTIFY amqp_broker_changed). Returns null (statement-level trigger).

-- Statement-level: broker edits are rare and often multi-row; resyncing the whole (tiny) table is
-- simpler than following every row, and also covers TRUNCATE. A deleted broker_id loses its
-- settings row, so a re-inserted broker starts from the defaults.
create or replace function amqp.broker_changed()
returns trigger
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $fn$
begin
    insert into amqp.broker_state (broker_id)
    select distinct b.broker_id from amqp.broker b
    on conflict (broker_id) do nothing;
    delete from amqp.broker_state s
     where not exists (select from amqp.broker b where b.broker_id = s.broker_id);
    perform pg_catalog.pg_notify('amqp_broker_changed', '');
    return null;
end
$fn$;

create or replace trigger broker_changed
    after insert or update or delete or truncate on amqp.broker
    for each statement execute function amqp.broker_changed();

comment on function amqp.broker_changed() is
'Trigger on amqp.broker: syncs amqp.broker_state and notifies amqp_broker_changed.';
