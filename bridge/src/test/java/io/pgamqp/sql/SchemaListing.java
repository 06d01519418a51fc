package io.pgamqp.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.testkit.TestDatabase;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything schema amqp defines, one sorted line per object or column, from pg_catalog: for checking that two ways
 * of installing (install.sql, CREATE EXTENSION, an upgrade) give exactly the same objects. Objects of other
 * extensions living in amqp (dblink, installed by install.sql when it can) are left out.
 */
final class SchemaListing {

    /** pg_class rows in amqp that belong to no extension other than amqp (a composite type's membership is its type's). */
    private static final String OWN_RELATIONS = "select c.* from pg_class c where c.relnamespace = 'amqp'::regnamespace"
            + " and not exists (select from pg_depend d join pg_extension e on e.oid = d.refobjid"
            + "   where ((d.classid = 'pg_class'::regclass and d.objid = c.oid)"
            + "       or (d.classid = 'pg_type'::regclass and d.objid = c.reltype))"
            + "     and d.deptype = 'e' and e.extname <> 'amqp')";

    private static final String OWN_FUNCTIONS = "select p.* from pg_proc p where p.pronamespace = 'amqp'::regnamespace"
            + " and not exists (select from pg_depend d join pg_extension e on e.oid = d.refobjid"
            + "   where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e' and e.extname <> 'amqp')";

    private static final String LISTING = "with rel as (" + OWN_RELATIONS + "), fn as (" + OWN_FUNCTIONS + ")"
            + " select line from ("
            + "  select 'schema amqp acl=' || " + sortedAcl("n.nspacl") + " || ' comment=' || coalesce(obj_description(n.oid, 'pg_namespace'), '')"
            + "    from pg_namespace n where n.nspname = 'amqp'"
            + "  union all"
            + "  select 'relation ' || c.relname || ' kind=' || c.relkind::text || ' options=' || coalesce(c.reloptions::text, '')"
            + "    || ' acl=' || " + sortedAcl("c.relacl") + " || ' owner=' || pg_get_userbyid(c.relowner)"
            + "    || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '')"
            + "    from rel c"
            + "  union all"
            // Position among live columns, not attnum: an upgrade that dropped a column leaves a gap in attnum.
            + "  select 'column ' || c.relname || '.' || row_number() over (partition by c.oid order by a.attnum)"
            + "    || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)"
            + "    || case when a.attnotnull then ' not null' else '' end"
            + "    || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')"
            + "    || case when a.attidentity <> '' then ' identity ' || a.attidentity::text else '' end"
            + "    || case when a.attgenerated <> '' then ' generated ' || a.attgenerated::text else '' end"
            + "    || ' acl=' || " + sortedAcl("a.attacl") + " || ' comment=' || coalesce(col_description(c.oid, a.attnum), '')"
            + "    from rel c join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped"
            + "    left join pg_attrdef ad on ad.adrelid = c.oid and ad.adnum = a.attnum"
            + "    where c.relkind in ('r', 'v', 'p')"
            + "  union all"
            + "  select 'constraint ' || c.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid)"
            + "    from rel c join pg_constraint k on k.conrelid = c.oid"
            + "  union all"
            + "  select 'index ' || pg_get_indexdef(i.indexrelid) from rel c join pg_index i on i.indrelid = c.oid"
            + "  union all"
            + "  select 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text"
            + "    from rel c join pg_trigger t on t.tgrelid = c.oid and not t.tgisinternal"
            + "  union all"
            + "  select 'view ' || c.relname || ' ' || pg_get_viewdef(c.oid) from rel c where c.relkind = 'v'"
            + "  union all"
            + "  select 'sequence ' || c.relname || ' ' || format_type(s.seqtypid, null) || ' start=' || s.seqstart"
            + "    || ' increment=' || s.seqincrement || ' max=' || s.seqmax || ' min=' || s.seqmin || ' cache=' || s.seqcache"
            + "    || ' cycle=' || s.seqcycle || coalesce(' owned by ' || (select r.relname || '.' || a.attname"
            + "      from pg_depend d join pg_class r on r.oid = d.refobjid"
            + "      join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid"
            + "      where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.refclassid = 'pg_class'::regclass"
            + "        and d.deptype in ('a', 'i')), '')"
            + "    from rel c join pg_sequence s on s.seqrelid = c.oid"
            + "  union all"
            + "  select 'function ' || p.oid::regprocedure || ' returns ' || pg_get_function_result(p.oid)"
            + "    || ' args=' || pg_get_function_arguments(p.oid) || ' lang=' || l.lanname"
            + "    || ' volatile=' || p.provolatile::text || ' strict=' || p.proisstrict || ' definer=' || p.prosecdef"
            + "    || ' config=' || coalesce(p.proconfig::text, '') || ' acl=' || " + sortedAcl("p.proacl")
            + "    || ' owner=' || pg_get_userbyid(p.proowner) || ' body=' || md5(p.prosrc)"
            + "    || ' comment=' || coalesce(obj_description(p.oid, 'pg_proc'), '')"
            + "    from fn p join pg_language l on l.oid = p.prolang"
            + " ) listing(line) order by line";

    private SchemaListing() {
    }

    /** An ACL as text with its items sorted: a revoke and re-grant (an upgrade) may reorder them. */
    private static String sortedAcl(String column) {
        return "coalesce((select string_agg(i::text, ',' order by i::text) from unnest(" + column + ") i), '')";
    }

    /** The sorted listing of {@code database}'s schema amqp. */
    static List<String> of(TestDatabase database) throws SQLException {
        return Sql.rows(database, LISTING).stream().map(row -> (String) row.get("line")).toList();
    }

    /** Asserts that both databases' schema amqp are the same, reporting only the lines that differ. */
    static void assertSameSchema(TestDatabase expected, TestDatabase actual) throws SQLException {
        List<String> expectedLines = of(expected);
        List<String> actualLines = of(actual);
        assertTrue(expectedLines.size() > 50, () -> "suspiciously short listing: " + expectedLines);
        List<String> missing = new ArrayList<>(expectedLines);
        missing.removeAll(actualLines);
        List<String> extra = new ArrayList<>(actualLines);
        extra.removeAll(expectedLines);
        assertEquals("", String.join("\n", missing) + (extra.isEmpty() ? "" : "\n--- instead:\n" + String.join("\n", extra)),
                () -> "schema amqp of " + actual.name() + " differs from that of " + expected.name());
    }
}
