-- Both install.sql and the extension script start here: refuse a server older than PostgreSQL 14
-- before anything is created (the triggers use CREATE OR REPLACE TRIGGER, new in 14; 14 to 17 are
-- tested).
do $$
begin
    if pg_catalog.current_setting('server_version_num')::integer < 140000 then
        raise exception using
            errcode = '0A000',
            message = pg_catalog.format('pgamqp needs PostgreSQL 14 or later; this server is %s',
                pg_catalog.current_setting('server_version')),
            hint = 'upgrade the server (pgamqp is tested on PostgreSQL 14, 15, 16 and 17)';
    end if;
end
$$;
