-- amqp.autonomous_publish: queue a message at once, committed whatever the calling transaction does
-- later (amqp.publish run through dblink in its own transaction). Returns true; errors as amqp.publish.

-- The dblink connection ('pgamqp_autonomous') is opened on first use and kept for the backend's
-- life, so each backend that calls this holds one extra connection.
--
-- Where it connects, first match:
-- 1. the foreign server amqp_autonomous (dblink_fdw) with the user mapping of this function's
--    owner (current_user here): how it works without a superuser, under password authentication
--    (managed PostgreSQL). PostgreSQL shows the mapping's password to that owner and superusers
--    only (README "Managed PostgreSQL").
-- 2. the setting amqp.autonomous_conninfo (a libpq connection string) if not empty; it must not
--    hold a password (any role may read a setting: SHOW, pg_db_role_setting).
-- 3. this server (the session's TCP address, or the first unix_socket_directories entry for a
--    socket session), current_setting('port'), this database, as session_user: the remote
--    publish gets the caller's own rights, so the open connection is worth nothing to anyone else
--    in the session. Needs trust (or peer for the server's OS user) in pg_hba.conf, and a
--    superuser owner (dblink lets only superusers connect without a password).
--
-- The optional parameters are amqp.publish's. The trace context (amqp.traceparent) is this session's, not the
-- dblink session's: it is merged into the headers here.
-- (Looked up first: a DROP ... IF EXISTS would print a notice on every fresh install.)
do $$
begin
    if pg_catalog.to_regprocedure('amqp.autonomous_publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar)') is not null then
        drop function amqp.autonomous_publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar);
    end if;
end
$$;

create or replace function amqp.autonomous_publish(
    broker_id integer,
    exchange varchar,
    routing_key varchar,
    message varchar,
    delivery_mode integer default null,
    content_type varchar default null,
    reply_to varchar default null,
    correlation_id varchar default null,
    headers jsonb default null,
    message_id varchar default null,
    type varchar default null,
    app_id varchar default null,
    expiration interval default null,
    priority integer default null,
    content_encoding varchar default null)
returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $fn$
declare
    c_conn constant text := 'pgamqp_autonomous';
    c_server constant name := 'amqp_autonomous';
    v_dblink name;
    v_conninfo text;
    v_query text;
    v_result boolean;
    v_state text;
    v_message text;
    v_detail text;
    v_headers jsonb := autonomous_publish.headers;
begin
    select n.nspname into v_dblink
      from pg_catalog.pg_extension e
      join pg_catalog.pg_namespace n on n.oid = e.extnamespace
     where e.extname = 'dblink';
    if not found then
        raise exception using errcode = '55000',
            message = 'amqp.autonomous_publish: the dblink extension is not installed in this database',
            -- A schema of its own, without USAGE for PUBLIC: nobody must reach the kept connection
            -- through dblink's functions (install.sql's own attempt puts it in amqp and revokes them).
            hint = 'a superuser (or the role a managed service lets create extensions) runs: create schema '
                || 'amqp_dblink authorization ' || pg_catalog.quote_ident(current_user) || '; create extension dblink with schema amqp_dblink; '
                || 'grant usage on foreign data wrapper dblink_fdw to ' || pg_catalog.quote_ident(current_user)
                || '; (amqp.publish does not need it)';
    end if;

    -- The broker's publisher_role is checked here, for the caller: amqp.publish, in the dblink session,
    -- sees that session's login role (the owner, always let through, or a member the site named in
    -- the user mapping). The quota is checked there.
    if exists (select from amqp.broker_state s
                where s.broker_id = autonomous_publish.broker_id and s.publisher_role is not null) then
        perform amqp.broker_policy_check(autonomous_publish.broker_id, 'amqp.autonomous_publish',
            (select s.publisher_role from amqp.broker_state s where s.broker_id = autonomous_publish.broker_id),
            null, 1);
    end if;

    if v_headers is not null or pg_catalog.current_setting('amqp.traceparent', true) <> '' then
        v_headers := amqp.message_headers('amqp.autonomous_publish', v_headers);
    end if;
    -- Every argument travels as a quoted, typed literal: nothing a caller passes can change the statement.
    v_query := pg_catalog.format(
        'select amqp.publish(%L::integer, %L::varchar, %L::varchar, %L::varchar, %L::integer, %L::varchar, %L::varchar, '
            || '%L::varchar, %L::jsonb, %L::varchar, %L::varchar, %L::varchar, %L::interval, %L::integer, %L::varchar)',
        autonomous_publish.broker_id, autonomous_publish.exchange, autonomous_publish.routing_key,
        autonomous_publish.message, autonomous_publish.delivery_mode, autonomous_publish.content_type,
        autonomous_publish.reply_to, autonomous_publish.correlation_id, v_headers, autonomous_publish.message_id,
        autonomous_publish.type, autonomous_publish.app_id, autonomous_publish.expiration,
        autonomous_publish.priority, autonomous_publish.content_encoding);

    for v_attempt in 1..2 loop
        execute pg_catalog.format('select %L = any(%I.dblink_get_connections())', c_conn, v_dblink)
           into v_result;
        if v_result is not true then
            v_conninfo := pg_catalog.current_setting('amqp.autonomous_conninfo', true);
            -- Only a server of this function's owner (or a superuser's): one that another role with USAGE
            -- on dblink_fdw named so first could send the messages to a database of its choosing.
            if exists (select from pg_catalog.pg_foreign_server s join pg_catalog.pg_roles r on r.oid = s.srvowner
                        where s.srvname = c_server and (r.rolname = current_user or r.rolsuper)) then
                -- dblink takes a foreign server's name for a connection string: options from the server,
                -- user and password from current_user's mapping.
                v_conninfo := c_server;
            elsif coalesce(v_conninfo, '') = '' then
                select pg_catalog.string_agg(o.k || '=''' || pg_catalog.replace(pg_catalog.replace(o.v,
                           E'\\', E'\\\\'), '''', E'\\''') || '''', ' ')
                  into v_conninfo
                  from (values
                        ('host', coalesce(pg_catalog.host(pg_catalog.inet_server_addr()),
                            pg_catalog.btrim(pg_catalog.split_part(
                                pg_catalog.current_setting('unix_socket_directories'), ',', 1)))),
                        ('port', pg_catalog.current_setting('port')),
                        ('dbname', pg_catalog.current_database()),
                        ('user', session_user),
                        ('application_name', 'pgamqp autonomous_publish')) as o(k, v);
            elsif v_conninfo ~* '(^|[[:space:]?&])password[[:space:]]*=' or v_conninfo ~ '^postgres(ql)?://[^/@]*:[^/@]*@' then
                -- Never echo it: the point is that it holds a password.
                raise exception using errcode = '22023',
                    message = 'amqp.autonomous_publish: amqp.autonomous_conninfo holds a password, which any role can read',
                    hint = 'remove it (alter database/role ... reset amqp.autonomous_conninfo) and keep the password in a '
                        || 'user mapping, which only its owner can read: create server amqp_autonomous foreign data '
                        || 'wrapper dblink_fdw options (host ..., dbname ...); create user mapping for <owner of '
                        || 'schema amqp> server amqp_autonomous options (user ..., password ...)';
            -- Anyone can SET a placeholder setting in their session. This function runs as its
            -- (superuser) owner, whom dblink lets connect anywhere with the server's credentials:
            -- take a value from a session that is not a superuser's only if a superuser configured
            -- it (postgresql.conf, ALTER SYSTEM/DATABASE/ROLE, which PostgreSQL 15 keeps to them).
            elsif not (select r.rolsuper from pg_catalog.pg_roles r where r.rolname = session_user)
                  and (select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user)
                  and not exists (
                        select from pg_catalog.pg_db_role_setting s, pg_catalog.unnest(s.setconfig) as c(item)
                         where s.setdatabase in (0, (select d.oid from pg_catalog.pg_database d
                                                      where d.datname = pg_catalog.current_database()))
                           and s.setrole in (0, (select r.oid from pg_catalog.pg_roles r
                                                  where r.rolname = session_user))
                           and c.item = 'amqp.autonomous_conninfo=' || v_conninfo)
                  and not exists (
                        select from pg_catalog.pg_file_settings f
                         where f.name = 'amqp.autonomous_conninfo' and f.setting = v_conninfo) then
                raise exception using errcode = '42501',
                    message = 'amqp.autonomous_publish: refusing amqp.autonomous_conninfo set by a session that is not a superuser''s',
                    hint = 'a superuser sets it in postgresql.conf or with alter database/role ... set amqp.autonomous_conninfo = ''...''';
            end if;
            begin
                execute pg_catalog.format('select %I.dblink_connect(%L, %L)', v_dblink, c_conn, v_conninfo);
                -- The remote publish waits for locks this (caller's) transaction may hold, e.g. after
                -- a TRUNCATE of amqp.outbox; PostgreSQL cannot see that deadlock, so bound the wait.
                execute pg_catalog.format('select %I.dblink_exec(%L, %L)', v_dblink, c_conn,
                    'set lock_timeout = ''10s''');
            exception when others then
                get stacked diagnostics v_message = message_text, v_detail = pg_exception_detail;
                -- Keep no half-set-up connection. Never echo the conninfo: it may hold a password.
                execute pg_catalog.format('select %I.dblink_disconnect(%L) where %L = any(%I.dblink_get_connections())',
                    v_dblink, c_conn, c_conn, v_dblink);
                raise exception using errcode = '08001',
                    message = 'amqp.autonomous_publish: cannot connect to this database through dblink',
                    detail = v_message || coalesce(': ' || nullif(v_detail, ''), ''),
                    hint = case when v_conninfo = c_server then
                               'check the foreign server amqp_autonomous and the user mapping for '
                            || current_user || ' (host, port, dbname; user, password)'
                           else 'with password authentication, keep the password in a user mapping: create server '
                            || 'amqp_autonomous foreign data wrapper dblink_fdw options (host ..., port ..., dbname ...); '
                            || 'create user mapping for ' || current_user || ' server amqp_autonomous options '
                            || '(user ..., password ...); or allow this connection in pg_hba.conf; or point '
                            || 'amqp.autonomous_conninfo (no password in it) elsewhere' end;
            end;
        end if;

        begin
            -- As parameters, so that an error's context does not repeat the whole message body.
            execute pg_catalog.format('select t.ok from %I.dblink($1, $2) as t(ok boolean)', v_dblink)
               into v_result using c_conn, v_query;
            return v_result;
        exception when others then
            get stacked diagnostics v_state = returned_sqlstate;
            -- The kept connection broke since the last call (server restart, terminated backend):
            -- reconnect once. (Had it broken after the remote commit, the message is queued twice:
            -- dblink cannot tell.) Errors of amqp.publish itself (bad input) re-raise unchanged.
            if v_attempt = 1 and (v_state like '08%' or v_state like '57P0_') then
                execute pg_catalog.format('select %I.dblink_disconnect(%L)', v_dblink, c_conn);
            else
                raise;
            end if;
        end;
    end loop;
    return false; -- not reached: the second attempt returns or raises
end
$fn$;

comment on function amqp.autonomous_publish(integer, varchar, varchar, varchar, integer, varchar, varchar, varchar,
    jsonb, varchar, varchar, varchar, interval, integer, varchar) is
'Works as amqp.publish does, but the message is queued (committed) at once through dblink, whatever the '
'calling transaction does later. Needs the dblink extension and, without a superuser owner, the foreign server '
'amqp_autonomous with a user mapping for the owner. Returns true.';
