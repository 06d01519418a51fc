-- amqp.dead_letter_replay: move the matching dead letters back into amqp.outbox, in their original
-- order and with their message_id and every other field, and audit it. Returns how many were replayed.

-- Filters (combined with AND; NULL = not filtering): broker_id; ids = amqp.dead_letter.id values;
-- older_than = dead-lettered more than that long ago. With no filter at all it refuses, unless
-- called with all_dead_letters => true (which takes no filter beside it): replaying everything
-- should never be what a forgotten argument does.
--
-- A replayed row keeps message_id (consumers that de-duplicate on it still can), starts again at
-- attempts 0 and is queued now (created_at), after everything already queued. Like amqp.publish it
-- takes the xid before the inserts' nextval (see amqp.outbox.tx) and NOTIFYs a sleeping bridge; the
-- bridge sends the rows only when this transaction commits. Dead letters of a broker_id that no
-- longer exists are refused: nobody would send them (purge them instead).
-- Admin only: granted to amqp_admin, not to PUBLIC.
create or replace function amqp.dead_letter_replay(
    broker_id integer default null,
    ids bigint[] default null,
    older_than interval default null,
    all_dead_letters boolean default false)
returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $fn$
declare
    v_tx xid8;
    v_unknown integer;
    v_count bigint;
    v_waiting integer[];
begin
    -- Parameters share names with columns: always written dead_letter_replay.<name>.
    if dead_letter_replay.all_dead_letters is null then
        raise exception using errcode = '22004',
            message = 'amqp.dead_letter_replay: all_dead_letters must not be null',
            hint = 'leave it out, or pass true to replay every dead letter';
    elsif dead_letter_replay.older_than < interval '0' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('amqp.dead_letter_replay: older_than %s is negative',
                dead_letter_replay.older_than),
            hint = 'pass how long ago they were dead-lettered, e.g. older_than => interval ''1 hour''';
    end if;
    if dead_letter_replay.all_dead_letters then
        if dead_letter_replay.broker_id is not null or dead_letter_replay.ids is not null
                or dead_letter_replay.older_than is not null then
            raise exception using errcode = '22023',
                message = 'amqp.dead_letter_replay: all_dead_letters => true takes no other filter',
                hint = 'pass either filters (broker_id, ids, older_than) or all_dead_letters => true';
        end if;
    elsif dead_letter_replay.broker_id is null and dead_letter_replay.ids is null
            and dead_letter_replay.older_than is null then
        raise exception using errcode = '22023',
            message = 'amqp.dead_letter_replay: no filter given',
            hint = 'pass broker_id, ids or older_than; to replay every dead letter, pass all_dead_letters => true';
    end if;

    select d.broker_id into v_unknown
      from amqp.dead_letter d
     where (dead_letter_replay.broker_id is null or d.broker_id = dead_letter_replay.broker_id)
       and (dead_letter_replay.ids is null or d.id = any(dead_letter_replay.ids))
       and (dead_letter_replay.older_than is null
            or d.dead_lettered_at < pg_catalog.now() - dead_letter_replay.older_than)
       and not exists (select from amqp.broker_state s where s.broker_id = d.broker_id)
     limit 1;
    if found then
        raise exception using errcode = '23503',
            message = pg_catalog.format('amqp.dead_letter_replay: dead letters of unknown broker_id %s match',
                v_unknown),
            hint = pg_catalog.format('insert the broker into amqp.broker first, or narrow the filter, or '
                || 'delete them: select amqp.dead_letter_purge(broker_id => %s)', v_unknown);
    end if;

    -- Its own statement, before the INSERT: the xid must exist before the ids' nextval.
    v_tx := pg_catalog.pg_current_xact_id();
    -- Rows leave the dead letters and enter the outbox in one statement; a concurrent replay of the
    -- same rows waits for this one and then finds nothing to move. The ORDER BY feeds the insert, so
    -- the new ids (nextval per row, in that order) keep the original order.
    with moved as (
        delete from amqp.dead_letter d
         where (dead_letter_replay.broker_id is null or d.broker_id = dead_letter_replay.broker_id)
           and (dead_letter_replay.ids is null or d.id = any(dead_letter_replay.ids))
           and (dead_letter_replay.older_than is null
                or d.dead_lettered_at < pg_catalog.now() - dead_letter_replay.older_than)
        returning d.*
    ), inserted as (
        insert into amqp.outbox as o
            (broker_id, tx, kind, exchange, routing_key, body, body_bytes, delivery_mode, content_type, reply_to,
             correlation_id, message_id, attempts, headers, type, app_id, expiration_ms, priority, content_encoding)
        select m.broker_id, v_tx, 'p', m.exchange, m.routing_key, m.body, m.body_bytes, m.delivery_mode,
               m.content_type, m.reply_to, m.correlation_id, m.message_id, 0, m.headers, m.type, m.app_id,
               m.expiration_ms, m.priority, m.content_encoding
          from moved m
         order by m.outbox_id, m.id
        returning o.broker_id
    )
    select pg_catalog.count(*),
           pg_catalog.array_agg(distinct i.broker_id) filter (where s.bridge_waiting_until > pg_catalog.now())
      into v_count, v_waiting
      from inserted i
      left join amqp.broker_state s on s.broker_id = i.broker_id;

    insert into amqp.dead_letter_audit (action, filters, affected)
    values ('replay',
            pg_catalog.jsonb_build_object('broker_id', dead_letter_replay.broker_id,
                'ids', dead_letter_replay.ids, 'older_than', dead_letter_replay.older_than,
                'all_dead_letters', dead_letter_replay.all_dead_letters),
            v_count);

    -- Identical notifications fold into one per broker, delivered at commit.
    perform pg_catalog.pg_notify('amqp_outbox', w.broker_id::text)
       from pg_catalog.unnest(v_waiting) as w(broker_id);
    return v_count;
end
$fn$;

comment on function amqp.dead_letter_replay(integer, bigint[], interval, boolean) is
'Moves dead letters back into amqp.outbox (original order, same message_id, attempts 0) to be sent '
'again when the calling transaction commits; filters broker_id, ids, older_than (at least one, or '
'all_dead_letters => true). Audited in amqp.dead_letter_audit. Returns how many were replayed.';
