-- amqp.schema_version: the revision of schema amqp this install.sql (or extension script) creates.
-- Returns an integer. A bridge built for a later revision reports itself not ready ("older than this
-- bridge: run pgamqp install"). Bump it with every schema change that the bridge's SQL depends on;
-- OutboxStore.SCHEMA_VERSION follows it (SchemaVersionTest fails when the two disagree).
create or replace function amqp.schema_version()
returns integer
language sql
volatile
security definer    -- as every function of schema amqp (FunctionPrivilegesPostgresTest); it reads nothing
set search_path = pg_catalog, pg_temp
as $fn$
    select 5
$fn$;

comment on function amqp.schema_version() is
'The revision of schema amqp that the installed SQL creates; the bridge compares it with its own.';
