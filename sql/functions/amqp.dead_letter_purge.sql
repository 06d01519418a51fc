-- amqp.dead_letter_purge: delete the matching dead letters for good, and audit it.
-- Returns how many were deleted.

-- Filters as amqp.dead_letter_replay (combined with AND; NULL = not filtering): broker_id; ids =
-- amqp.dead_letter.id values; older_than = dead-lettered more than that long ago. With no filter at
-- all it refuses, unless called with all_dead_letters => true (and no filter beside it).
-- Admin only: granted to amqp_admin, not to PUBLIC.
create or replace function amqp.dead_letter_purge(
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
    v_count bigint;
begin
    -- Parameters share names with columns: always written dead_letter_purge.<name>.
    if dead_letter_purge.all_dead_letters is null then
        raise exception using errcode = '22004',
            message = 'amqp.dead_letter_purge: all_dead_letters must not be null',
            hint = 'leave it out, or pass true to purge every dead letter';
    elsif dead_letter_purge.older_than < interval '0' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('amqp.dead_letter_purge: older_than %s is negative',
                dead_letter_purge.older_than),
            hint = 'pass how long ago they were dead-lettered, e.g. older_than => interval ''30 days''';
    end if;
    if dead_letter_purge.all_dead_letters then
        if dead_letter_purge.broker_id is not null or dead_letter_purge.ids is not null
                or dead_letter_purge.older_than is not null then
            raise exception using errcode = '22023',
                message = 'amqp.dead_letter_purge: all_dead_letters => true takes no other filter',
                hint = 'pass either filters (broker_id, ids, older_than) or all_dead_letters => true';
        end if;
    elsif dead_letter_purge.broker_id is null and dead_letter_purge.ids is null
            and dead_letter_purge.older_than is null then
        raise exception using errcode = '22023',
            message = 'amqp.dead_letter_purge: no filter given',
            hint = 'pass broker_id, ids or older_than; to purge every dead letter, pass all_dead_letters => true';
    end if;

    delete from amqp.dead_letter d
     where (dead_letter_purge.broker_id is null or d.broker_id = dead_letter_purge.broker_id)
       and (dead_letter_purge.ids is null or d.id = any(dead_letter_purge.ids))
       and (dead_letter_purge.older_than is null
            or d.dead_lettered_at < pg_catalog.now() - dead_letter_purge.older_than);
    get diagnostics v_count = row_count;

    insert into amqp.dead_letter_audit (action, filters, affected)
    values ('purge',
            pg_catalog.jsonb_build_object('broker_id', dead_letter_purge.broker_id,
                'ids', dead_letter_purge.ids, 'older_than', dead_letter_purge.older_than,
                'all_dead_letters', dead_letter_purge.all_dead_letters),
            v_count);
    return v_count;
end
$fn$;

comment on function amqp.dead_letter_purge(integer, bigint[], interval, boolean) is
'Deletes dead letters for good; filters broker_id, ids, older_than (at least one, or all_dead_letters => '
'true). Audited in amqp.dead_letter_audit. Returns how many were deleted.';
