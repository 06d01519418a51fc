-- amqp.disconnect_request: a pending amqp.disconnect() per broker_id. Written only by that function
-- (SECURITY DEFINER: EXECUTE on it is the privilege that governs reconnects), taken (deleted) by
-- the bridge when the NOTIFY amqp_disconnect wakes it. The NOTIFY alone asks for nothing: any role
-- may send one, so the bridge reconnects only for a row it could take.

create table if not exists amqp.disconnect_request (
    broker_id integer primary key,
    requested_at timestamptz not null default pg_catalog.now(),
    requested_by name not null default session_user   -- the login role, also under SET ROLE
);

comment on table amqp.disconnect_request is
'Pending amqp.disconnect() requests, one row per broker_id (the latest wins), written by that function '
'and taken by the bridge, which reconnects at most once per pgamqp.bridge.backoff-min for them.';
