-- amqp.dead_letter_audit: who replayed or purged which dead letters, and when; one row per call of
-- amqp.dead_letter_replay() / amqp.dead_letter_purge(), written by those functions.

create table if not exists amqp.dead_letter_audit (
    id bigint generated always as identity primary key,
    action text not null check (action in ('replay', 'purge')),
    filters jsonb not null,     -- the call's arguments: broker_id, ids, older_than, all_dead_letters
    affected bigint not null,   -- dead letters replayed or purged
    done_by name not null default session_user,    -- the login role, also under SET ROLE
    done_at timestamptz not null default pg_catalog.now()
);

comment on table amqp.dead_letter_audit is
'Audit trail of amqp.dead_letter_replay() and amqp.dead_letter_purge(): action, filters, rows affected, '
'session user and time.';
