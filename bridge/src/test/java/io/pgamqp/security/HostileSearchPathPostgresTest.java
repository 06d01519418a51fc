package io.pgamqp.security;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/**
 * The SECURITY DEFINER functions pin search_path = pg_catalog, pg_temp: same-named functions and operators that a
 * caller puts first on its search_path (schema "evil" and public), and temporary tables named like ours, change
 * nothing. Each hostile object records its call in evil.calls: the table must stay empty.
 */
class HostileSearchPathPostgresTest {

  private static final String HOSTILE = """
      create schema evil;
      create table evil.calls (what text);
      grant usage on schema evil to public;
      grant insert on evil.calls to public;
      create function evil.log(w text) returns boolean language plpgsql as
        $$ begin insert into evil.calls values (w); return true; end $$;
      create function evil.pg_notify(text, text) returns void language plpgsql as
        $$ begin perform evil.log('pg_notify'); end $$;
      create function public.pg_notify(text, text) returns void language plpgsql as
        $$ begin perform evil.log('public.pg_notify'); end $$;
      create function evil.format(text, variadic text[]) returns text language plpgsql as
        $$ begin perform evil.log('format'); return 'select 1'; end $$;
      create function evil.octet_length(character varying) returns integer language plpgsql as
        $$ begin perform evil.log('octet_length'); return 0; end $$;
      create function evil.pg_current_xact_id() returns xid8 language plpgsql as
        $$ begin perform evil.log('pg_current_xact_id'); return '1'::xid8; end $$;
      create function evil.now() returns timestamptz language plpgsql as
        $$ begin perform evil.log('now'); return 'epoch'; end $$;
      create function evil.left(text, integer) returns text language plpgsql as
        $$ begin perform evil.log('left'); return 'x-'; end $$;
      create function evil.eq_int(integer, integer) returns boolean language plpgsql as
        $$ begin perform evil.log('= integer'); return true; end $$;
      create operator evil.= (leftarg = integer, rightarg = integer, function = evil.eq_int);
      create function evil.gt_int(integer, integer) returns boolean language plpgsql as
        $$ begin perform evil.log('> integer'); return false; end $$;
      create operator evil.> (leftarg = integer, rightarg = integer, function = evil.gt_int);
      create function evil.eq_text(text, text) returns boolean language plpgsql as
        $$ begin perform evil.log('= text'); return true; end $$;
      create operator evil.= (leftarg = text, rightarg = text, function = evil.eq_text);
      create function evil.eq_varchar(varchar, varchar) returns boolean language plpgsql as
        $$ begin perform evil.log('= varchar'); return true; end $$;
      create operator evil.= (leftarg = varchar, rightarg = varchar, function = evil.eq_varchar);
      """;

  @Test
  void sameNamedFunctionsOperatorsAndTempTablesOnTheCallersSearchPathChangeNothing() throws SQLException {
    try (TestDatabase db = TestServers.get().createDatabase("hostile_path")) {
      int broker = db.insertBroker();
      db.exec("update amqp.broker_state set bridge_waiting_until = 'infinity', max_body_bytes = 40 where broker_id = " + broker);
      // The opt-in limits on, so that their check runs under the hostile path too (the owner may always publish).
      db.exec("update amqp.broker_state set publisher_role = 'amqp_publisher', max_pending_rows = 100"
          + " where broker_id = " + broker);
      db.exec(HOSTILE);
      try (Connection c = db.connect(); Statement st = c.createStatement()) {
        st.execute("create temp table outbox (like amqp.outbox); create temp table broker_state (like amqp.broker_state)");
        st.execute("set search_path = evil, public, pg_temp, pg_catalog");
        st.execute("select amqp.publish(" + broker + ", 'ex', 'k', 'body', 2, 'text/plain', 'r', 'c')");
        st.execute("select amqp.publish(" + broker + ", '', '', '')");
        st.execute("select amqp.exchange_declare(" + broker + ", 'declared', 'topic', false, true)");
        st.execute("select amqp.exchange_declare(" + broker + ", 'gone', 'topic', false, true)");
        st.execute("select amqp.exchange_undeclare(" + broker + ", 'gone')");
        st.execute("select amqp.disconnect(" + broker + ")");
        st.execute("select amqp.autonomous_publish(" + broker + ", 'ex', 'k', 'auto''; drop table amqp.outbox; --')");
        st.execute("select * from amqp.status");
        // The validations still work: octet_length and the comparisons are pg_catalog's.
        for (String refused : new String[] {
            "select amqp.publish(" + broker + ", 'ex', 'k', repeat('b', 41))",
            "select amqp.publish(" + broker + ", 'ex', 'k', 'm', 3)",
            "select amqp.exchange_declare(" + broker + ", 'e', 'bogus', false, true)"}) {
          try {
            st.execute(refused);
            throw new AssertionError("accepted under a hostile search_path: " + refused);
          } catch (SQLException expected) {
            // refused as it should be
          }
        }
        try (ResultSet rs = st.executeQuery("select count(*) from pg_temp.outbox")) {
          rs.next();
          assertEquals(0, rs.getInt(1), "nothing went to the caller's temporary outbox");
        }
      }
      assertEquals(0, db.queryLong("select count(*) from evil.calls"), "a hostile function or operator was called");
      assertEquals(4, db.queryLong("select count(*) from amqp.outbox where broker_id = ? and tx <> '1'::xid8", broker));
      assertEquals(1, db.queryLong("select count(*) from amqp.outbox where body = 'auto''; drop table amqp.outbox; --'"));
      assertEquals(1, db.queryLong("select count(*) from amqp.exchange_declaration where exchange = 'declared'"
          + " and exchange_type = 'topic' and status = 'pending'"));
    }
  }
}
