-- amqp.message_headers: the AMQP headers table of one message, as stored in amqp.outbox.headers: the caller's
-- headers object, checked, with the W3C trace context of the transaction added (amqp.traceparent, amqp.tracestate)
-- where the caller did not name those headers. Returns null when there is nothing to send. Raises an ERROR with a
-- HINT, naming fn (the public function called), for what AMQP or the bridge could not carry.

-- Called by amqp.enqueue and amqp.publish_many only when headers were passed or a traceparent is set, so a plain
-- publish does not pay for it. The bridge maps the JSON to AMQP field values (io.pgamqp.outbox.HeaderTable):
-- string -> long string, integral number -> signed 64-bit, other number -> double, boolean, null -> void,
-- array -> array, object -> nested table. What it cannot map is refused here, while the caller can still act.
--
-- Neither SECURITY DEFINER nor SET: it runs only inside the functions that call it (EXECUTE for nobody else, see
-- grants.sql), which are SECURITY DEFINER with search_path pinned already; a SET clause of its own would save and
-- restore the setting on every call.
create or replace function amqp.message_headers(fn text, headers jsonb)
returns jsonb
language plpgsql
stable
as $fn$
declare
    v_traceparent text := pg_catalog.current_setting('amqp.traceparent', true);
    v_tracestate text := pg_catalog.current_setting('amqp.tracestate', true);
    v_bad record;
    c_max_depth constant integer := 16;
begin
    if message_headers.headers is not null then
        if pg_catalog.jsonb_typeof(message_headers.headers) <> 'object' then
            raise exception using errcode = '22023',
                message = pg_catalog.format('%s: headers must be a JSON object, not %s', message_headers.fn,
                    pg_catalog.jsonb_typeof(message_headers.headers)),
                hint = 'pass an object of header names to values, e.g. headers => ''{"tenant": "acme", "version": 2}''';
        end if;
        -- Flat headers with short names and ordinary numbers, the common case, pass on one expression (names of 64
        -- characters or more may exceed 255 bytes; numbers near the 64-bit range are looked at closely); the rest
        -- go through the full walk below, which finds the first fault.
        if pg_catalog.jsonb_path_exists(message_headers.headers,
                '$.keyvalue() ? (@.key like_regex "^.{64}" || @.value.type() == "object" || @.value.type() == "array"'
                ' || (@.value.type() == "number" && (@.value > 9223372036854775807 || @.value < -9223372036854775807)))')
        then
            -- Every value with its depth (the headers object is depth 1) and, inside objects, its name: the first
            -- fault in document order (arrays by index, objects by name) is reported.
            with recursive v(path, name, value, depth) as (
                select array[e.key], e.key, e.value, 1
                  from pg_catalog.jsonb_each(message_headers.headers) as e
                union all
                select v.path || c.k, c.name, c.value, v.depth + 1
                  from v,
                       lateral (select e.key, e.key, e.value
                                  from pg_catalog.jsonb_each(case when pg_catalog.jsonb_typeof(v.value) = 'object'
                                                                  then v.value end) as e
                                union all
                                select (a.n - 1)::text, null, a.value
                                  from pg_catalog.jsonb_array_elements(case when pg_catalog.jsonb_typeof(v.value) = 'array'
                                                                            then v.value end)
                                       with ordinality as a(value, n)) as c(k, name, value)
                 where v.depth <= c_max_depth
            )
            select v.path, v.name, v.value, v.depth,
                   case when pg_catalog.octet_length(v.name) > 255 then 'name'
                        when v.depth > c_max_depth then 'depth'
                        when pg_catalog.jsonb_typeof(v.value) = 'number'
                             and (v.value::text !~ '[.eE]' and pg_catalog.abs(v.value::text::numeric) > 9223372036854775807
                                  or pg_catalog.abs(v.value::text::numeric) > 1.7976931348623157e308) then 'number'
                   end as fault
              into v_bad
              from v
             where pg_catalog.octet_length(v.name) > 255 or v.depth > c_max_depth
                or (pg_catalog.jsonb_typeof(v.value) = 'number'
                    and (v.value::text !~ '[.eE]' and pg_catalog.abs(v.value::text::numeric) > 9223372036854775807
                         or pg_catalog.abs(v.value::text::numeric) > 1.7976931348623157e308))
             order by v.path
             limit 1;
            if found then
                if v_bad.fault = 'name' then
                    raise exception using errcode = '22001',
                        -- Not the name itself: it is what is too long.
                        message = pg_catalog.format('%s: a header name is %s bytes long, AMQP allows at most 255',
                            message_headers.fn, pg_catalog.octet_length(v_bad.name)),
                        hint = 'header names (also those of nested objects) are AMQP short strings: at most 255 bytes in UTF-8';
                elsif v_bad.fault = 'depth' then
                    raise exception using errcode = '22023',
                        message = pg_catalog.format('%s: headers nest deeper than %s levels (at %s)', message_headers.fn,
                            c_max_depth, pg_catalog.array_to_string(v_bad.path, '.')),
                        hint = 'flatten the headers, or put structured data in the message body';
                else
                    raise exception using errcode = '22003',
                        message = pg_catalog.format('%s: header %s holds a number AMQP cannot carry', message_headers.fn,
                            pg_catalog.array_to_string(v_bad.path, '.')),
                        hint = 'integers must fit in a signed 64-bit integer, other numbers in a double; pass larger '
                            || 'numbers as strings';
                end if;
            end if;
        end if;
    end if;

    -- The trace context of the caller's transaction (W3C Trace Context), e.g. set local amqp.traceparent = '00-...'.
    -- After a SET LOCAL the setting exists but is empty: both mean none.
    if v_traceparent <> '' then
        if v_traceparent !~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' or v_traceparent like 'ff-%'
                or pg_catalog.split_part(v_traceparent, '-', 2) = '00000000000000000000000000000000'
                or pg_catalog.split_part(v_traceparent, '-', 3) = '0000000000000000' then
            raise exception using errcode = '22023',
                message = pg_catalog.format('%s: amqp.traceparent %L is not a W3C traceparent', message_headers.fn,
                    pg_catalog.left(v_traceparent, 80)),
                hint = 'set it as version-traceid-parentid-flags in lower-case hex, e.g. set local amqp.traceparent = '
                    || '''00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'', or reset it';
        end if;
        -- The caller's own headers win over the session's trace context.
        return pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('traceparent', v_traceparent,
                   'tracestate', nullif(v_tracestate, '')))
               || coalesce(message_headers.headers, '{}');
    end if;
    return message_headers.headers;
end
$fn$;

comment on function amqp.message_headers(text, jsonb) is
'Internal: checks a headers object for AMQP and adds the transaction''s amqp.traceparent/amqp.tracestate; '
'returns the headers to store (null for none). fn names the public function in errors.';
