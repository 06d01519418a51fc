-- Schema amqp's description. The schema itself is created by sql/install_prologue.sql (install.sql)
-- or by CREATE EXTENSION (sql/amqp.control says schema = amqp).
--
-- Tables are created with their full definition. A column added in a later release is also added
-- below its table by a DO block that looks in pg_attribute first and alters only when the column is
-- missing (`add column if not exists` locks the table even when it adds nothing): re-running the
-- script upgrades, and an up-to-date install is not locked.

comment on schema amqp is
'pgamqp: amqp.publish() queues messages in amqp.outbox; the pgamqp bridge sends them to the AMQP '
'broker after the publishing transaction commits. SQL API compatible with pg_amqp.';
