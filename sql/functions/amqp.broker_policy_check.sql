-- amqp.broker_policy_check: enforce a broker's opt-in publishing limits (publisher_role, max_pending_rows).
-- Returns nothing; raises an ERROR with a HINT when the caller may not publish, or adding rows would pass the quota.

-- Called by the publishing functions only when the broker has a limit set (both null, the default:
-- never called, so pg_amqp users pay nothing). Internal: no EXECUTE for anyone but the owner.
--
-- publisher_role: the session's login role (session_user, also under SET ROLE: a SECURITY DEFINER
-- function cannot see the invoker's current role, and a login may only SET ROLE to roles it is a
-- member of) must be a member of it; the owner of schema amqp always may, and so may superusers.
-- amqp.autonomous_publish checks its caller before it opens its dblink session, whose login role
-- (the owner, or the user mapping's) amqp.publish then checks again.
--
-- max_pending_rows: rows of this broker still in the outbox (committed ones: concurrent
-- transactions may overshoot by their own rows). Cheap while under the quota: the span of the
-- broker's outbox ids (two probes of the primary key) bounds the count from above, since ids are
-- shared by all brokers; only when that span passes the quota are the rows counted, up to the
-- quota, in index order.
create or replace function amqp.broker_policy_check(
    broker_id integer,
    caller text,
    publisher_role name,
    max_pending_rows bigint,
    adding bigint)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $fn$
declare
    v_low bigint;
    v_high bigint;
    v_pending bigint;
begin
    if broker_policy_check.publisher_role is not null and session_user <> current_user
            and not coalesce(pg_catalog.pg_has_role(session_user,
                pg_catalog.to_regrole(broker_policy_check.publisher_role)::oid, 'MEMBER'), false) then
        raise exception using errcode = '42501',
            message = pg_catalog.format('%s: role %I may not publish to broker_id %s', broker_policy_check.caller,
                session_user, broker_policy_check.broker_id),
            hint = pg_catalog.format('broker_id %s takes messages only from members of role %I '
                || '(amqp.broker_state.publisher_role); its owner can grant %I to %I',
                broker_policy_check.broker_id, broker_policy_check.publisher_role,
                broker_policy_check.publisher_role, session_user);
    end if;
    if broker_policy_check.max_pending_rows is not null then
        -- Two probes at the ends of the broker's range of the primary key, in its order (with LIMIT 1 the
        -- planner takes the index however small the table looked when it cached the plan).
        v_low := (select o.id from amqp.outbox o where o.broker_id = broker_policy_check.broker_id
                   order by o.broker_id, o.id limit 1);
        v_high := (select o.id from amqp.outbox o where o.broker_id = broker_policy_check.broker_id
                    order by o.broker_id desc, o.id desc limit 1);
        if coalesce(v_high - v_low + 1, 0) + broker_policy_check.adding > broker_policy_check.max_pending_rows then
            select pg_catalog.count(*) into v_pending
              from (select from amqp.outbox o
                     where o.broker_id = broker_policy_check.broker_id
                     order by o.id
                     limit broker_policy_check.max_pending_rows) waiting;
            if v_pending + broker_policy_check.adding > broker_policy_check.max_pending_rows then
                raise exception using errcode = '53400',
                    message = pg_catalog.format('%s: broker_id %s has %s messages waiting, its quota '
                        || '(max_pending_rows) is %s', broker_policy_check.caller, broker_policy_check.broker_id,
                        v_pending, broker_policy_check.max_pending_rows),
                    hint = 'the bridge is behind or not running (see amqp.status): retry later, or raise '
                        || 'amqp.broker_state.max_pending_rows for this broker';
            end if;
        end if;
    end if;
end
$fn$;

comment on function amqp.broker_policy_check(integer, text, name, bigint, bigint) is
'Internal: raises an error when the session may not publish to the broker (publisher_role) or when adding '
'rows would exceed its max_pending_rows quota.';
