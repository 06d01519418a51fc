-- amqp.disconnect: ask the bridge to drop and re-open its connection to broker_id, at commit.
-- Returns nothing (void, STRICT like pg_amqp); an unknown broker_id raises an ERROR.

-- pg_amqp closed the calling backend's own connection; here the bridge owns the connections, so
-- the request is a row in amqp.disconnect_request and a NOTIFY that wakes the bridge to take it;
-- both take effect when this transaction commits. Any role can NOTIFY: only the row, which nobody
-- but this function writes, makes the bridge reconnect, so EXECUTE on it governs reconnects.
-- `select amqp.disconnect(broker_id) from amqp.broker` sends one per broker row (duplicates fold).
create or replace function amqp.disconnect(broker_id integer)
returns void
language plpgsql
volatile
strict
security definer
set search_path = pg_catalog, pg_temp
as $fn$
begin
    perform from amqp.broker_state s where s.broker_id = disconnect.broker_id;
    if not found then
        raise exception using errcode = '23503',
            message = pg_catalog.format('amqp.disconnect: unknown broker_id %s', disconnect.broker_id),
            hint = 'see select broker_id, host, port from amqp.broker';
    end if;
    insert into amqp.disconnect_request as r (broker_id) values (disconnect.broker_id)
        on conflict on constraint disconnect_request_pkey do update
        set requested_at = excluded.requested_at, requested_by = excluded.requested_by;
    perform pg_catalog.pg_notify('amqp_disconnect', disconnect.broker_id::text);
end
$fn$;

comment on function amqp.disconnect(integer) is
'Makes the bridge drop its connection to the broker (broker_id) and reconnect, when the calling '
'transaction commits. select amqp.disconnect(broker_id) from amqp.broker reconnects all brokers.';
