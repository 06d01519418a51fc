-- Privileges, all in one place. Callers get EXECUTE on the four pg_amqp functions and nothing
-- else: the functions run as their owner (SECURITY DEFINER) and amqp.broker holds passwords.

revoke all on all tables in schema amqp from public;
revoke all on all sequences in schema amqp from public;
-- Also covers the trigger function and, when it lives in amqp, dblink: callers must not open
-- connections of their own through it.
revoke execute on all functions in schema amqp from public;

-- pg_amqp users call these as any role: keep that working.
grant usage on schema amqp to public;
grant execute on function
    amqp.publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar),
    amqp.autonomous_publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar),
    amqp.exchange_declare(integer, varchar, varchar, boolean, boolean, boolean),
    amqp.disconnect(integer)
    to public;

-- amqp_publisher: for sites that revoke the PUBLIC grants above. Roles are cluster-wide, so an
-- install in another database may have created it already.
do $$
begin
    if not exists (select from pg_catalog.pg_roles r where r.rolname = 'amqp_publisher') then
        create role amqp_publisher nologin;
    end if;
exception
    when duplicate_object then
        null; -- created meanwhile by an install in another database
    when insufficient_privilege then
        raise notice 'pgamqp install: role amqp_publisher not created (needs CREATEROLE); '
            'the functions stay executable by PUBLIC';
end
$$;

do $$
begin
    if exists (select from pg_catalog.pg_roles r where r.rolname = 'amqp_publisher') then
        grant usage on schema amqp to amqp_publisher;
        grant execute on function
            amqp.publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar),
            amqp.autonomous_publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar),
            amqp.exchange_declare(integer, varchar, varchar, boolean, boolean, boolean),
            amqp.disconnect(integer)
            to amqp_publisher;
        -- Only the id column (not the passwords), so that pg_amqp's idiom
        -- `select amqp.disconnect(broker_id) from amqp.broker` works for publishers.
        grant select (broker_id) on amqp.broker to amqp_publisher;
    end if;
end
$$;
