-- amqp.queue_declare: record a queue declaration (pending) and queue it for the bridge, which declares the queue on
-- the broker once this transaction commits, before any later message, and again after every reconnect. Returns true.

-- arguments are the queue's x-arguments, encoded like message headers (numbers stay numbers), e.g.
-- '{"x-queue-type": "quorum"}' or '{"x-dead-letter-exchange": "dlx", "x-message-ttl": 60000}'. The outcome shows in
-- amqp.topology; a queue the broker refuses (406: it exists with other arguments) is failed and not declared again
-- until the next call. Never exclusive (an exclusive queue would vanish with the bridge's connection).
create or replace function amqp.queue_declare(
    broker_id integer,
    queue varchar,
    durable boolean default true,
    auto_delete boolean default false,
    arguments jsonb default null)
returns boolean
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $fn$
    select amqp.declaration_request('amqp.queue_declare', queue_declare.broker_id, 'queue', queue_declare.queue, '', '',
        queue_declare.arguments, queue_declare.durable, queue_declare.auto_delete, false)
$fn$;

comment on function amqp.queue_declare(integer, varchar, boolean, boolean, jsonb) is
'Declares a queue (broker_id, queue, durable, auto_delete, arguments) when the calling transaction commits and '
'after every reconnect; see amqp.topology for its status. Returns true.';
