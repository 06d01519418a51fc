-- amqp.exchange_declare: record an exchange declaration (pending) and queue it for the bridge, which
-- applies it on the broker once this transaction commits. Returns true; bad input raises an ERROR.

-- Queued in amqp.outbox (kind 'd') among the messages, in id order: the bridge can apply it before
-- the messages published after it. arguments (e.g. {"alternate-exchange": "ae"}) are encoded like message headers.
-- Earlier versions had six parameters; that signature goes, or a 5- or 6-argument call would match both.
-- (Looked up first: a DROP ... IF EXISTS would print a notice on every fresh install.)
do $$
begin
    if pg_catalog.to_regprocedure('amqp.exchange_declare(integer, varchar, varchar, boolean, boolean, boolean)') is not null then
        drop function amqp.exchange_declare(integer, varchar, varchar, boolean, boolean, boolean);
    end if;
end
$$;

create or replace function amqp.exchange_declare(
    broker_id integer,
    exchange varchar,
    exchange_type varchar,
    passive boolean,
    durable boolean,
    auto_delete boolean default false,
    arguments jsonb default null)
returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $fn$
declare
    v_bridge_waiting boolean;
    v_publisher_role name;
    v_max_pending_rows bigint;
    v_tx xid8;
begin
    -- Parameters are written exchange_declare.<name>: they share names with columns.
    if exchange_declare.broker_id is null then
        raise exception using errcode = '22004',
            message = 'amqp.exchange_declare: broker_id must not be null',
            hint = 'pass the broker_id of a row in amqp.broker';
    elsif exchange_declare.exchange is null then
        raise exception using errcode = '22004',
            message = 'amqp.exchange_declare: exchange must not be null',
            hint = 'pass the name of the exchange to declare';
    elsif exchange_declare.exchange_type is null then
        raise exception using errcode = '22004',
            message = 'amqp.exchange_declare: exchange_type must not be null',
            hint = 'use direct, fanout, topic, headers or a plugin type starting with x-';
    elsif exchange_declare.passive is null or exchange_declare.durable is null
            or exchange_declare.auto_delete is null then
        raise exception using errcode = '22004',
            message = 'amqp.exchange_declare: passive, durable and auto_delete must not be null',
            hint = 'pass true or false';
    end if;
    if exchange_declare.exchange = '' then
        raise exception using errcode = '22023',
            message = 'amqp.exchange_declare: cannot declare the default exchange ''''',
            hint = 'the default exchange always exists; publish to it with exchange => ''''';
    end if;
    if pg_catalog.octet_length(exchange_declare.exchange) > 255 then
        raise exception using errcode = '22001',
            message = pg_catalog.format('amqp.exchange_declare: exchange is %s bytes long, AMQP allows at most 255',
                pg_catalog.octet_length(exchange_declare.exchange)),
            hint = 'exchange names are AMQP short strings: at most 255 bytes in UTF-8';
    end if;
    -- RabbitMQ refuses (403) to create exchanges named amq.*: it reserves them. A passive check is fine.
    if not exchange_declare.passive and pg_catalog.left(exchange_declare.exchange, 4) = 'amq.' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('amqp.exchange_declare: exchange names starting with amq. are reserved, '
                || 'cannot declare %L', exchange_declare.exchange),
            hint = 'choose another name, or pass passive => true to only check that a built-in amq. exchange exists';
    end if;
    if exchange_declare.arguments is not null then
        perform amqp.declaration_arguments_check('amqp.exchange_declare', exchange_declare.arguments);
    end if;
    if exchange_declare.exchange_type not in ('direct', 'fanout', 'topic', 'headers')
            and pg_catalog.left(exchange_declare.exchange_type, 2) <> 'x-' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('amqp.exchange_declare: unknown exchange_type %L',
                exchange_declare.exchange_type),
            hint = 'use direct, fanout, topic, headers or a plugin type starting with x-';
    end if;

    select s.bridge_waiting_until > pg_catalog.now(), s.publisher_role, s.max_pending_rows
      into v_bridge_waiting, v_publisher_role, v_max_pending_rows
      from amqp.broker_state s
     where s.broker_id = exchange_declare.broker_id;
    if not found then
        raise exception using errcode = '23503',
            message = pg_catalog.format('amqp.exchange_declare: unknown broker_id %s', exchange_declare.broker_id),
            hint = 'insert the broker first: insert into amqp.broker(host, port, vhost, username, password) values (...)';
    end if;
    if v_publisher_role is not null or v_max_pending_rows is not null then
        perform amqp.broker_policy_check(exchange_declare.broker_id, 'amqp.exchange_declare', v_publisher_role,
            v_max_pending_rows, 1);
    end if;

    -- Before any write: the xid must exist before the outbox id's nextval (see amqp.outbox.tx).
    v_tx := pg_catalog.pg_current_xact_id();
    insert into amqp.exchange_declaration as d
        (broker_id, exchange, exchange_type, passive, durable, auto_delete, requested_at, status, applied_at, last_error,
         arguments)
    values
        (exchange_declare.broker_id, exchange_declare.exchange, exchange_declare.exchange_type,
         exchange_declare.passive, exchange_declare.durable, exchange_declare.auto_delete,
         pg_catalog.now(), 'pending', null, null, exchange_declare.arguments)
    on conflict on constraint exchange_declaration_pkey do update
        set exchange_type = excluded.exchange_type,
            passive = excluded.passive,
            durable = excluded.durable,
            auto_delete = excluded.auto_delete,
            arguments = excluded.arguments,
            requested_at = excluded.requested_at,
            status = 'pending',
            applied_at = null,
            last_error = null;
    insert into amqp.outbox as o (broker_id, tx, kind, exchange, routing_key, body)
    values (exchange_declare.broker_id, v_tx, 'd', exchange_declare.exchange, '', null);

    if v_bridge_waiting then
        perform pg_catalog.pg_notify('amqp_outbox', exchange_declare.broker_id::text);
    end if;
    return true;
end
$fn$;

comment on function amqp.exchange_declare(integer, varchar, varchar, boolean, boolean, boolean, jsonb) is
'Declares an exchange (broker_id, exchange_name, exchange_type, passive, durable, auto_delete, arguments) when '
'the calling transaction commits; see amqp.topology for its status. Returns true.';
