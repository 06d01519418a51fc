-- amqp.broker_state_replace: trigger function making an INSERT of a broker_id that already has a
-- row in amqp.broker_state replace that row. Returns the row to insert (BEFORE INSERT, per row).

-- Why: pg_dump restores amqp.broker before amqp.broker_state, and for extension amqp the trigger of
-- amqp.broker_changed.sql already exists then and creates default rows; the dumped rows, with the
-- settings, must win instead of failing on the primary key. Inserts made by that trigger (ON CONFLICT
-- DO NOTHING, one trigger level down) keep the existing row as they always did.
create or replace function amqp.broker_state_replace()
returns trigger
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $fn$
begin
    if pg_catalog.pg_trigger_depth() = 1 then
        delete from amqp.broker_state s where s.broker_id = new.broker_id;
    end if;
    return new;
end
$fn$;

create or replace trigger broker_state_replace
    before insert on amqp.broker_state
    for each row execute function amqp.broker_state_replace();

comment on function amqp.broker_state_replace() is
'Trigger on amqp.broker_state: an INSERT of an existing broker_id replaces that row (restoring a dump).';
