package io.pgamqp.cli;

import com.typesafe.config.Config;
import io.pgamqp.config.ChosenDatabase;
import io.pgamqp.config.DatabaseSettings;
import io.pgamqp.config.PgamqpConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** {@code install}: applies the bundled {@code sql/install.sql} (idempotent: re-running upgrades in place). */
public final class InstallCommand {
  private InstallCommand() {}

  // Every object of schema amqp with a fingerprint of its definition, so a before/after diff says what changed.
  private static final String CATALOG =
      "select 'table ' || c.oid::regclass, md5(string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)"
          + "   || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), ''), ', ' order by a.attnum))"
          + " from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped"
          + " left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum"
          + " where c.relnamespace = 'amqp'::regnamespace and c.relkind in ('r', 'p') group by c.oid"
          + " union all select 'view ' || c.oid::regclass, md5(pg_get_viewdef(c.oid)) from pg_class c"
          + " where c.relnamespace = 'amqp'::regnamespace and c.relkind = 'v'"
          + " union all select 'function ' || p.oid::regprocedure, md5(pg_get_functiondef(p.oid)) from pg_proc p"
          + " where p.pronamespace = 'amqp'::regnamespace and not exists (select from pg_depend e"
          + "   where e.classid = 'pg_proc'::regclass and e.objid = p.oid and e.deptype = 'e')"
          + " union all select 'trigger ' || t.tgname || ' on ' || t.tgrelid::regclass, md5(pg_get_triggerdef(t.oid))"
          + " from pg_trigger t join pg_class c on c.oid = t.tgrelid"
          + " where c.relnamespace = 'amqp'::regnamespace and not t.tgisinternal";

  static int run(String[] args) throws Exception {
    Config config = PgamqpConfig.load();
    DatabaseSettings db = DatabaseSettings.create(config);
    String where = ChosenDatabase.describe(config, db);
    List<String> changes = install(db);
    if (changes.isEmpty()) {
      System.out.println("schema amqp in " + where + " is up to date: nothing changed");
    } else {
      System.out.println("schema amqp in " + where + ": " + changes.size() + " change(s)");
      changes.forEach(c -> System.out.println("  " + c));
    }
    return 0;
  }

  /** Applies install.sql in its own transaction; returns what it created, changed or removed in schema amqp. */
  public static List<String> install(DatabaseSettings db) throws SQLException, IOException {
    String sql = installSql();
    try (Connection c = db.connect("pgamqp install"); Statement st = c.createStatement()) {
      Map<String, String> before = catalog(st);
      st.execute(sql);
      Map<String, String> after = catalog(st);
      List<String> changes = new ArrayList<>();
      after.forEach((object, fingerprint) -> {
        String old = before.get(object);
        if (old == null) {
          changes.add("created " + object);
        } else if (!old.equals(fingerprint)) {
          changes.add("changed " + object);
        }
      });
      before.keySet().stream().filter(o -> !after.containsKey(o)).forEach(o -> changes.add("removed " + o));
      return changes;
    }
  }

  private static Map<String, String> catalog(Statement st) throws SQLException {
    Map<String, String> objects = new TreeMap<>();
    try (ResultSet rs = st.executeQuery("select to_regnamespace('amqp') is not null")) {
      rs.next();
      if (!rs.getBoolean(1)) {
        return objects;
      }
    }
    try (ResultSet rs = st.executeQuery(CATALOG)) {
      while (rs.next()) {
        objects.put(rs.getString(1), rs.getString(2));
      }
    }
    return objects;
  }

  public static String installSql() throws IOException {
    try (InputStream in = InstallCommand.class.getResourceAsStream("/sql/install.sql")) {
      if (in == null) {
        throw new IOException("sql/install.sql is missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
