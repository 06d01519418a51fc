-- Extension script only: pg_dump dumps no rows of an extension's tables unless they are marked as
-- configuration; mark every table, and the sequences, so a dump and restore loses nothing.

-- The sequences matter as much as the rows: a restored outbox_id_seq starting again at 1 would hand
-- out message_ids (= id::text) that consumers have already seen and de-duplicate away. The outbox
-- rows are messages the bridge has not sent yet. (install.sql's plain tables are dumped anyway.)
select pg_catalog.pg_extension_config_dump('amqp.broker', '');
select pg_catalog.pg_extension_config_dump('amqp.broker_broker_id_seq', '');
select pg_catalog.pg_extension_config_dump('amqp.broker_state', '');
select pg_catalog.pg_extension_config_dump('amqp.outbox', '');
select pg_catalog.pg_extension_config_dump('amqp.outbox_id_seq', '');
select pg_catalog.pg_extension_config_dump('amqp.dead_letter', '');
select pg_catalog.pg_extension_config_dump('amqp.dead_letter_id_seq', '');
select pg_catalog.pg_extension_config_dump('amqp.dead_letter_audit', '');
select pg_catalog.pg_extension_config_dump('amqp.dead_letter_audit_id_seq', '');
select pg_catalog.pg_extension_config_dump('amqp.exchange_declaration', '');
select pg_catalog.pg_extension_config_dump('amqp.scheduled', '');
select pg_catalog.pg_extension_config_dump('amqp.scheduled_id_seq', '');
select pg_catalog.pg_extension_config_dump('amqp.held_destination', '');
select pg_catalog.pg_extension_config_dump('amqp.topology_declaration', '');
select pg_catalog.pg_extension_config_dump('amqp.topology_declaration_id_seq', '');
