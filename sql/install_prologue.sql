-- install.sql only (the extension script starts with sql/extension_prologue.sql instead): refuse a
-- database where extension amqp exists, create schema amqp, try to create dblink.

-- pg_amqp (the C extension) owns functions with the same signatures: replacing them piecemeal
-- would leave a half-migrated schema, so stop before touching anything. pgamqp packaged as
-- extension amqp (sql/Makefile) is upgraded by ALTER EXTENSION: install.sql's objects could not
-- join it, they would only shadow it.
do $$
declare
    v_version text;
begin
    select e.extversion into v_version from pg_catalog.pg_extension e where e.extname = 'amqp';
    if not found then
        return;
    end if;
    if exists (select from pg_catalog.pg_depend d
                 join pg_catalog.pg_proc p on d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                                          and p.oid = d.objid
                 join pg_catalog.pg_language l on l.oid = p.prolang
                where d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
                  and d.refobjid = (select e.oid from pg_catalog.pg_extension e where e.extname = 'amqp')
                  and d.deptype = 'e' and l.lanname = 'c') then
        raise exception using
            errcode = '55000',
            message = 'pgamqp install: the pg_amqp extension "amqp" is installed in this database',
            hint = 'keep your brokers and drop it first: alter extension amqp drop table amqp.broker; '
                || 'alter extension amqp drop sequence amqp.broker_broker_id_seq; drop extension amqp; '
                || 'then re-run install.sql (amqp.broker is kept as it is).';
    end if;
    raise exception using
        errcode = '55000',
        message = pg_catalog.format('pgamqp install: pgamqp is installed in this database as extension "amqp" %s',
            v_version),
        hint = 'upgrade it as an extension instead: make -C sql install, then alter extension amqp update;';
end
$$;

create schema if not exists amqp;

-- amqp.autonomous_publish needs dblink. Creating it needs a superuser (dblink is not a trusted
-- extension) and the contrib package: install without it rather than fail, publish still works.
-- (In schema amqp, before grants.sql, so that its functions are revoked from PUBLIC with ours.)
do $$
begin
    create extension if not exists dblink with schema amqp;
exception when others then
    -- The schema belongs to the installing role, who must reach dblink's functions (and create the
    -- foreign server amqp_autonomous); PUBLIC gets no USAGE on it.
    raise notice 'pgamqp install: dblink not installed (%): amqp.autonomous_publish will fail until '
        'a superuser (or the role a managed service lets create extensions) runs "create schema amqp_dblink '
        'authorization %; create extension dblink with schema amqp_dblink; grant usage on foreign data '
        'wrapper dblink_fdw to %" (README: Managed PostgreSQL)',
        sqlerrm, pg_catalog.quote_ident(current_user), pg_catalog.quote_ident(current_user);
end
$$;
