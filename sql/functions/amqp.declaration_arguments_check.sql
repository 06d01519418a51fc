-- amqp.declaration_arguments_check: refuse x-arguments (of a queue, binding or exchange declaration) that the bridge
-- could not send. Returns nothing; raises an ERROR with a HINT naming fn (the public function called).

-- The bridge encodes them as it encodes message headers (io.pgamqp.outbox.HeaderTable): numbers stay numbers, which
-- matters (RabbitMQ refuses "x-message-ttl": "60000", a string). Not amqp.message_headers: that one adds the
-- transaction's trace context, which is no argument of a queue. Internal: no EXECUTE for anyone but the owner.
create or replace function amqp.declaration_arguments_check(fn text, arguments jsonb)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $fn$
declare
    v_bad text;
begin
    if pg_catalog.jsonb_typeof(declaration_arguments_check.arguments) <> 'object' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: arguments must be a JSON object, not %s', declaration_arguments_check.fn,
                pg_catalog.jsonb_typeof(declaration_arguments_check.arguments)),
            hint = 'pass an object of argument names to values, e.g. arguments => ''{"x-queue-type": "quorum"}''';
    end if;
    select e.key into v_bad
      from pg_catalog.jsonb_each(declaration_arguments_check.arguments) as e
     where pg_catalog.octet_length(e.key) > 255
     limit 1;
    if found then
        raise exception using errcode = '22001',
            message = pg_catalog.format('%s: an argument name is %s bytes long, AMQP allows at most 255',
                declaration_arguments_check.fn, pg_catalog.octet_length(v_bad)),
            hint = 'argument names are AMQP short strings: at most 255 bytes in UTF-8';
    end if;
    select e.key into v_bad
      from pg_catalog.jsonb_each(declaration_arguments_check.arguments) as e
     where pg_catalog.jsonb_typeof(e.value) = 'number'
       and (e.value::text !~ '[.eE]' and pg_catalog.abs(e.value::text::numeric) > 9223372036854775807
            or pg_catalog.abs(e.value::text::numeric) > 1.7976931348623157e308)
     limit 1;
    if found then
        raise exception using errcode = '22003',
            message = pg_catalog.format('%s: argument %s holds a number AMQP cannot carry', declaration_arguments_check.fn,
                v_bad),
            hint = 'integers must fit in a signed 64-bit integer, other numbers in a double';
    end if;
end
$fn$;

comment on function amqp.declaration_arguments_check(text, jsonb) is
'Internal: raises an ERROR (fn names the caller) when arguments are not a JSON object the bridge can send as an '
'AMQP field table.';
