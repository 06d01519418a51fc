-- Extension script only (install.sql starts with sql/install_prologue.sql instead): refuse a schema
-- amqp that install.sql filled. CREATE EXTENSION made the schema (amqp.control: schema = amqp).

-- Objects install.sql created cannot become members of the extension (PostgreSQL refuses CREATE ...
-- IF NOT EXISTS on a non-member in an extension script); say what to do instead. An update script
-- (the same text, see sql/assemble.sh) passes: its amqp.outbox is a member already.
do $$
begin
    if exists (select from pg_catalog.pg_class c
                where c.oid = pg_catalog.to_regclass('amqp.outbox')
                  and not exists (select from pg_catalog.pg_depend d
                                   where d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                                     and d.objid = c.oid
                                     and d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
                                     and d.deptype = 'e')) then
        raise exception using
            errcode = '55000',
            message = 'pgamqp extension: schema amqp already holds pgamqp installed by install.sql',
            hint = 'keep upgrading that install with install.sql; or move to the extension: pg_dump --data-only '
                || '--schema=amqp, drop schema amqp cascade, create extension amqp, restore the data';
    end if;
end
$$;
