-- amqp.outbox_reclaim: give the outbox's disk space back, whatever VACUUM can or cannot do.
-- Returns the outbox's size in bytes (heap, TOAST, index) before it was rewritten; NULL when it was
-- not: the lock did not come within lock_wait, or more than max_rows rows are still waiting.

-- Every settled message leaves a dead row that only VACUUM makes reusable, and nothing shrinks the
-- files. With autovacuum off or behind, or while any transaction holds the xmin horizon back (a long
-- report, a REPEATABLE READ transaction, a lagging replication slot), they pile up: 360,000 messages
-- at 2,000/s left 141 MB. PgQ TRUNCATEs tables once drained; this does it in place. Under an ACCESS
-- EXCLUSIVE lock no insert or delete can be in progress; the rows still waiting are copied, the table
-- is TRUNCATEd (new empty files, the old ones removed at commit, however old the oldest snapshot) and
-- the rows are put back with every column unchanged (id, tx, attempts, ...), so nothing is lost and
-- the bridge's claim order and late-transaction tracking see the same rows.
-- The lock is asked for with a short lock_timeout: while it waits, every publisher queues behind it,
-- so it gives up quickly (a publisher in the middle of a transaction) and the bridge tries again.
-- TRUNCATE is not MVCC-safe: a snapshot older than this commit sees the rows put back as not yet
-- committed. The bridge claims in READ COMMITTED, a snapshot per statement: its next claim sees them.
-- Not for callers: EXECUTE for amqp_bridge only (grants.sql).
create or replace function amqp.outbox_reclaim(
    lock_wait interval default '20 milliseconds',
    max_rows integer default 10000)
returns bigint
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $fn$
declare
    v_before bigint;
    v_waiting amqp.outbox[];
begin
    if outbox_reclaim.lock_wait is null or outbox_reclaim.lock_wait < interval '0'
            or outbox_reclaim.max_rows is null or outbox_reclaim.max_rows < 0 then
        raise exception using errcode = '22023',
            message = pg_catalog.format('amqp.outbox_reclaim: lock_wait %s and max_rows %s are invalid',
                outbox_reclaim.lock_wait, outbox_reclaim.max_rows),
            hint = 'pass a lock_wait of 0 or more and a max_rows of 0 or more';
    end if;
    -- Older snapshots would see the rows put back as uncommitted for the rest of their transaction.
    if pg_catalog.current_setting('transaction_isolation') <> 'read committed' then
        raise exception using errcode = '25001',
            message = 'amqp.outbox_reclaim must run in a READ COMMITTED transaction',
            hint = 'call it in its own statement with the default isolation level';
    end if;
    perform pg_catalog.set_config('lock_timeout',
        greatest(1, (extract(epoch from outbox_reclaim.lock_wait) * 1000)::bigint)::text || 'ms', true);
    begin
        lock table amqp.outbox in access exclusive mode;
    exception
        when lock_not_available then
            return null;
    end;
    perform pg_catalog.set_config('lock_timeout', '0', true);
    v_before := pg_catalog.pg_total_relation_size('amqp.outbox');
    select pg_catalog.array_agg(w.o) into v_waiting
      from (select o from amqp.outbox o limit outbox_reclaim.max_rows + 1) as w(o);
    if pg_catalog.cardinality(v_waiting) > outbox_reclaim.max_rows then
        return null; -- a backlog: copying it would take long under the lock; its deletions free pages for reuse
    end if;
    truncate amqp.outbox;
    if v_waiting is not null then
        insert into amqp.outbox select w.* from pg_catalog.unnest(v_waiting) as w;
    end if;
    return v_before;
end
$fn$;

comment on function amqp.outbox_reclaim(interval, integer) is
'Bridge only: rewrites amqp.outbox (TRUNCATE, then the waiting rows put back unchanged) to give the space of settled '
'rows back; returns its size before, or NULL when its lock did not come within lock_wait or over max_rows rows wait.';
