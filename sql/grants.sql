-- Privileges, all in one place. Callers get EXECUTE on the four pg_amqp functions and nothing
-- else: the functions run as their owner (SECURITY DEFINER) and amqp.broker holds passwords.
-- amqp.publish_many, publish_json, publish_bytes, amqp.exchange_undeclare and the queue and binding
-- functions (queue_declare, queue_bind, exchange_bind and their unbinds) are pgamqp's own, not
-- pg_amqp's: they go to amqp_publisher only. exchange_declare's arguments parameter is pgamqp's too,
-- but the function is pg_amqp's: its 5- and 6-argument calls stay open to PUBLIC.
-- Dead-letter administration and amqp.status are for the amqp_admin role only (and status for
-- pg_monitor); the owner and superusers may do everything anyway.

revoke all on all tables in schema amqp from public;
revoke all on all sequences in schema amqp from public;
-- Also covers the trigger function and, when it lives in amqp, dblink: callers must not open
-- connections of their own through it.
revoke execute on all functions in schema amqp from public;

-- pg_amqp users call these as any role: keep that working.
grant usage on schema amqp to public;
grant execute on function
    amqp.publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar, jsonb, varchar, varchar,
        varchar, interval, integer, varchar, timestamptz),
    amqp.autonomous_publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar, jsonb, varchar,
        varchar, varchar, interval, integer, varchar),
    amqp.exchange_declare(integer, varchar, varchar, boolean, boolean, boolean, jsonb),
    amqp.disconnect(integer)
    to public;

-- amqp_publisher: for sites that revoke the PUBLIC grants above. amqp_admin: replays and purges
-- dead letters, reads amqp.status. Roles are cluster-wide, so an install in another database may
-- have created them already.
do $$
declare
    v_role name;
begin
    foreach v_role in array array['amqp_publisher', 'amqp_admin', 'amqp_bridge']::name[] loop
        begin
            if not exists (select from pg_catalog.pg_roles r where r.rolname = v_role) then
                execute pg_catalog.format('create role %I nologin', v_role);
            end if;
        exception
            when duplicate_object then
                null; -- created meanwhile by an install in another database
            when insufficient_privilege then
                raise notice 'pgamqp install: role % not created (needs CREATEROLE); %', v_role,
                    case v_role when 'amqp_publisher' then 'the pg_amqp functions stay executable by PUBLIC, '
                                                           || 'amqp.publish_many only by the owner'
                                when 'amqp_bridge' then 'run the bridge as the owner of schema amqp'
                                else 'dead-letter administration stays with the owner' end;
        end;
    end loop;
end
$$;

do $$
begin
    if exists (select from pg_catalog.pg_roles r where r.rolname = 'amqp_publisher') then
        grant usage on schema amqp to amqp_publisher;
        grant execute on function
            amqp.publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar, jsonb, varchar,
                varchar, varchar, interval, integer, varchar, timestamptz),
            amqp.publish_json(integer, varchar, varchar, jsonb, integer, varchar, varchar, varchar, jsonb, varchar,
                varchar, varchar, interval, integer, varchar, timestamptz),
            amqp.publish_bytes(integer, varchar, varchar, bytea, integer, varchar, varchar, varchar, jsonb, varchar,
                varchar, varchar, interval, integer, varchar, timestamptz),
            amqp.publish_many(integer, varchar, varchar[], varchar[], integer, varchar, varchar, varchar[], jsonb,
                varchar[], timestamptz),
            -- The trigger function: CREATE TRIGGER needs EXECUTE on it (and TRIGGER on the table).
            amqp.publish_changes(),
            amqp.autonomous_publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar, jsonb,
                varchar, varchar, varchar, interval, integer, varchar),
            -- What the inlined publish_json and publish_bytes call, as the caller.
            amqp.enqueue(text, integer, varchar, varchar, varchar, bytea, integer, varchar, varchar, varchar, jsonb,
                varchar, varchar, varchar, interval, integer, varchar, timestamptz),
            amqp.exchange_declare(integer, varchar, varchar, boolean, boolean, boolean, jsonb),
            amqp.exchange_undeclare(integer, varchar),
            amqp.queue_declare(integer, varchar, boolean, boolean, jsonb),
            amqp.queue_bind(integer, varchar, varchar, varchar, jsonb),
            amqp.queue_unbind(integer, varchar, varchar, varchar, jsonb),
            amqp.exchange_bind(integer, varchar, varchar, varchar, jsonb),
            amqp.exchange_unbind(integer, varchar, varchar, varchar, jsonb),
            amqp.disconnect(integer)
            to amqp_publisher;
        -- What they declared and how it went (names, arguments and broker errors; no passwords, no bodies).
        grant select on amqp.topology to amqp_publisher;
        -- Only the id column (not the passwords), so that pg_amqp's idiom
        -- `select amqp.disconnect(broker_id) from amqp.broker` works for publishers.
        grant select (broker_id) on amqp.broker to amqp_publisher;
    end if;
end
$$;

do $$
begin
    if exists (select from pg_catalog.pg_roles r where r.rolname = 'amqp_admin') then
        grant usage on schema amqp to amqp_admin;
        grant execute on function
            amqp.dead_letter_replay(integer, bigint[], interval, boolean),
            amqp.dead_letter_purge(integer, bigint[], interval, boolean),
            amqp.broker_status()
            to amqp_admin;
        -- To choose what to replay and to see what was done; not the outbox (bodies in flight) nor
        -- amqp.broker (passwords: amqp.status shows the addresses).
        grant select on amqp.status, amqp.dead_letter, amqp.dead_letter_audit, amqp.topology to amqp_admin;
    end if;
end
$$;

-- amqp_bridge: exactly what the bridge's own SQL needs (outbox/OutboxStore.java, broker/BrokerCatalog.java,
-- the backlog sample of broker/BrokerRegistry.java); run the bridge as a LOGIN role that is a member:
--   create role pgamqp_bridge login password '...' in role amqp_bridge;
-- The advisory lock, pg_locks, pg_current_snapshot() and LISTEN need nothing beyond PUBLIC's defaults.
-- It gets no EXECUTE of its own on the publishing API, may not change brokers, write a dead letter
-- but from an outbox row, or read or change the dead letters and their audit. Like every role it
-- keeps what PUBLIC is granted above (pg_amqp's four functions): to take that away too, revoke
-- those grants from PUBLIC (publishers then need amqp_publisher) or name a broker's publishers
-- (amqp.broker_state.publisher_role).
do $$
begin
    if exists (select from pg_catalog.pg_roles r where r.rolname = 'amqp_bridge') then
        grant usage on schema amqp to amqp_bridge;
        -- Where to connect, with the passwords: the bridge is the one reader that needs them.
        grant select on amqp.broker to amqp_bridge;
        -- on_unroutable, and its runtime report (wake-up flag, owner, connection, last confirm/error).
        grant select, update (bridge_waiting_until, owner, owned_since, connected_to, connected_since, last_confirm_at,
                              last_error, last_error_at)
            on amqp.broker_state to amqp_bridge;
        -- Claim, delete once confirmed, count a failed attempt.
        grant select, delete, update (attempts, last_error) on amqp.outbox to amqp_bridge;
        -- Take the amqp.disconnect() requests it acts on.
        grant select, delete on amqp.disconnect_request to amqp_bridge;
        -- Dead-letter what it gives up on, only through the function that copies the outbox row: with
        -- INSERT it could write dead letters of its own making, which an admin replay would then send.
        -- (Revoked, since installs before this one granted it.)
        revoke insert on amqp.dead_letter from amqp_bridge;
        grant execute on function amqp.dead_letter_outbox(integer, bigint[], text[]) to amqp_bridge;
        -- Give the space of settled rows back (TRUNCATE, only through the function that keeps waiting rows).
        grant execute on function amqp.outbox_reclaim(interval, integer) to amqp_bridge;
        -- Move delayed messages that fell due into the outbox (only through the function: no INSERT on the outbox).
        grant execute on function amqp.scheduled_release(integer, integer) to amqp_bridge;
        -- Set a refused message aside for its own retry, so that it holds back no other message.
        grant execute on function amqp.outbox_defer(integer, bigint[], text[], bigint[]) to amqp_bridge;
        -- Apply declarations and record their outcome.
        grant select, update (status, applied_at, last_error) on amqp.exchange_declaration to amqp_bridge;
        -- Record the destinations it holds back (amqp.status shows them; a bridge taking over keeps their time).
        grant select, insert, delete, update (last_error, expired) on amqp.held_destination to amqp_bridge;
        -- Queues and bindings likewise; DELETE for an unbind the broker applied (the binding's record goes).
        grant select, delete, update (status, applied_at, last_error) on amqp.topology_declaration to amqp_bridge;
        -- The backlog gauges.
        grant select on amqp.status to amqp_bridge;
        grant execute on function amqp.broker_status() to amqp_bridge;
        -- Readiness: is the installed schema as new as the bridge?
        grant execute on function amqp.schema_version() to amqp_bridge;
    end if;
end
$$;

-- Monitoring agents (e.g. postgres_exporter) usually log in as members of pg_monitor, which may
-- already read every session's queries; the view shows no passwords and no message bodies. (A
-- view's functions run with the reader's EXECUTE privilege: hence the grant on broker_status.)
grant select on amqp.status to pg_monitor;
grant execute on function amqp.broker_status() to pg_monitor;
