-- Schema amqp, the pg_amqp compatibility guard, and dblink for amqp.autonomous_publish.
-- Tables are created with their full definition; a column added in a later release is appended
-- below its table as `alter table ... add column if not exists`, so re-running install.sql upgrades.

-- pg_amqp (the C extension) owns functions with the same signatures: replacing them piecemeal
-- would leave a half-migrated schema, so stop before touching anything.
do $$
begin
    if exists (select from pg_catalog.pg_extension e where e.extname = 'amqp') then
        raise exception using
            errcode = '55000',
            message = 'pgamqp install: the pg_amqp extension "amqp" is installed in this database',
            hint = 'keep your brokers and drop it first: alter extension amqp drop table amqp.broker; '
                || 'alter extension amqp drop sequence amqp.broker_broker_id_seq; drop extension amqp; '
                || 'then re-run install.sql (amqp.broker is kept as it is).';
    end if;
end
$$;

create schema if not exists amqp;

comment on schema amqp is
'pgamqp: amqp.publish() queues messages in amqp.outbox; the pgamqp bridge sends them to the AMQP '
'broker after the publishing transaction commits. SQL API compatible with pg_amqp.';

-- amqp.autonomous_publish needs dblink. Creating it needs a superuser (dblink is not a trusted
-- extension) and the contrib package: install without it rather than fail, publish still works.
do $$
begin
    create extension if not exists dblink with schema amqp;
exception when others then
    raise notice 'pgamqp install: dblink not installed (%): amqp.autonomous_publish will fail until '
        'a superuser runs "create extension dblink"', sqlerrm;
end
$$;
