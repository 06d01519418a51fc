-- amqp.exchange_undeclare: drop an exchange from the declarations the bridge re-applies at every connect.
-- Returns true when a declaration was removed, false when there was none (an unknown broker_id raises an ERROR).

-- amqp.exchange_declare() records each exchange in amqp.exchange_declaration and the bridge declares
-- them all again whenever it (re)connects: without a way out, every declaration ever made, typos
-- and retired exchanges included, is re-declared for good. This removes the record (and a pending
-- declaration still in the outbox); it does not delete the exchange on the broker. pgamqp's own,
-- not pg_amqp's: for amqp_publisher members, and the broker's publisher_role applies.
create or replace function amqp.exchange_undeclare(
    broker_id integer,
    exchange varchar)
returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $fn$
declare
    v_publisher_role name;
begin
    -- Parameters are written exchange_undeclare.<name>: they share names with columns.
    if exchange_undeclare.broker_id is null or exchange_undeclare.exchange is null then
        raise exception using errcode = '22004',
            message = pg_catalog.format('amqp.exchange_undeclare: %s must not be null',
                case when exchange_undeclare.broker_id is null then 'broker_id' else 'exchange' end),
            hint = 'pass the broker_id and the exchange given to amqp.exchange_declare';
    end if;
    select s.publisher_role into v_publisher_role
      from amqp.broker_state s
     where s.broker_id = exchange_undeclare.broker_id;
    if not found then
        raise exception using errcode = '23503',
            message = pg_catalog.format('amqp.exchange_undeclare: unknown broker_id %s', exchange_undeclare.broker_id),
            hint = 'see select broker_id, host, port from amqp.broker';
    end if;
    if v_publisher_role is not null then
        perform amqp.broker_policy_check(exchange_undeclare.broker_id, 'amqp.exchange_undeclare', v_publisher_role,
            null, 0);
    end if;
    delete from amqp.outbox o
     where o.broker_id = exchange_undeclare.broker_id and o.kind = 'd' and o.exchange = exchange_undeclare.exchange;
    delete from amqp.exchange_declaration d
     where d.broker_id = exchange_undeclare.broker_id and d.exchange = exchange_undeclare.exchange;
    return found;
end
$fn$;

comment on function amqp.exchange_undeclare(integer, varchar) is
'Removes an exchange (broker_id, exchange) from the declarations the bridge re-applies at every connect; '
'the exchange itself stays on the broker. Returns true if one was removed.';
