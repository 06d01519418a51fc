-- amqp.topology: every declaration the bridge applies for a broker, one row per object: exchanges
-- (amqp.exchange_declaration) and queues, bindings and pending unbinds (amqp.topology_declaration), with one status
-- vocabulary: pending, applied, failed (with the broker's words in last_error).

create or replace view amqp.topology as
select d.broker_id, 'exchange'::text as kind, d.exchange as name, null::text as source, null::text as routing_key,
       d.exchange_type, d.arguments, d.durable, d.auto_delete,
       case d.status when 'declared' then 'applied' else d.status end as status,
       d.last_error, d.requested_at, d.applied_at
  from amqp.exchange_declaration d
union all
select t.broker_id,
       case when t.unbind then pg_catalog.replace(t.kind, '_binding', '_unbind') else t.kind end,
       t.name, nullif(t.source, ''), case when t.kind <> 'queue' then t.routing_key end,
       null, t.arguments, t.durable, t.auto_delete, t.status, t.last_error, t.requested_at, t.applied_at
  from amqp.topology_declaration t;

comment on view amqp.topology is
'One row per declared object: kind (exchange, queue, queue_binding, exchange_binding, and queue_unbind or '
'exchange_unbind while an unbind waits), name (the exchange or queue; a binding''s destination), source (a '
'binding''s source exchange), routing_key, exchange_type, arguments, durable, auto_delete, status (pending, '
'applied, failed), last_error (the broker''s words), requested_at, applied_at.';
