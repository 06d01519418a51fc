package io.pgamqp.security;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgamqp.Bridge;
import io.pgamqp.badinput.Harness;
import io.pgamqp.cli.InstallCommand;
import io.pgamqp.cli.StatusCommand;
import io.pgamqp.config.DatabaseSettings;
import io.pgamqp.testkit.AmqpTestClient;
import io.pgamqp.testkit.BridgeRunner;
import io.pgamqp.testkit.Eventually;
import io.pgamqp.testkit.Route;
import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The probe's attack on the bridge's own sessions: any role with CREATE on the database makes a schema named like the
 * bridge's login role (the default search_path's {@code "$user"}) holding operators that match the bridge's queries
 * better than pg_catalog's do (their operands need no cast). The bridge, {@code install} and {@code status} must call
 * none of them: every hostile call is recorded in evil.calls, which must stay empty while messages still flow.
 */
@Tag("end-to-end")
@Timeout(120)
class BridgeSearchPathEndToEndTest {

  // Each look-alike records its call and then does what pg_catalog's operator would, so only evil.calls tells.
  private static String hostileObjects(String schema) {
    String s = '"' + schema + '"';
    return """
        create schema if not exists evil;
        create table if not exists evil.calls (what text);
        grant usage on schema evil to public;
        grant insert on evil.calls to public;
        create or replace function evil.log(w text) returns void language sql
          as $$ insert into evil.calls values (w) $$;
        create schema S;
        create function S.mul(numeric, integer) returns numeric language plpgsql set search_path = pg_catalog as
          $$ begin perform evil.log('numeric * integer'); return $1 operator(pg_catalog.*) $2; end $$;
        create operator S.* (leftarg = numeric, rightarg = integer, function = S.mul);
        create function S.eq_oid_int(oid, integer) returns boolean language plpgsql set search_path = pg_catalog as
          $$ begin perform evil.log('oid = integer'); return $1 operator(pg_catalog.=) $2::oid; end $$;
        create operator S.= (leftarg = oid, rightarg = integer, function = S.eq_oid_int);
        create function S.eq_oid_ns(oid, regnamespace) returns boolean language plpgsql set search_path = pg_catalog as
          $$ begin perform evil.log('oid = regnamespace'); return $1 operator(pg_catalog.=) $2::oid; end $$;
        create operator S.= (leftarg = oid, rightarg = regnamespace, function = S.eq_oid_ns);
        create function S.sub(timestamptz, text) returns timestamptz language plpgsql set search_path = pg_catalog as
          $$ begin perform evil.log('timestamptz - text'); return $1 operator(pg_catalog.-) $2::interval; end $$;
        create operator S.- (leftarg = timestamptz, rightarg = text, function = S.sub);
        grant usage on schema S to public;
        """.replace("S.", s + ".").replace("schema S", "schema " + s);
  }

  @Test
  void hostileOperatorsOnTheBridgeRolesSearchPathAreNeverCalled() throws Exception {
    TestServers servers = TestServers.get();
    try (TestDatabase db = servers.createDatabase("bridge_path"); // creates role amqp_bridge
         Roles role = new Roles("amqp_bridge");
         AmqpTestClient amqp = new AmqpTestClient()) {
      int id = db.insertBroker();
      db.exec(hostileObjects(role.name));            // found through "$user" by the bridge's role
      db.exec(hostileObjects(servers.dbUser()));      // ... and by the owner's, for install
      Route route = Route.declare(amqp, "path");
      try (Bridge bridge = BridgeRunner.start(db, Map.of("pgamqp.db.user", role.name, "pgamqp.db.password", "",
          "pgamqp.bridge.progress-interval", "200ms", "pgamqp.bridge.stranded-after", "1s"))) {
        String declared = amqp.uniqueName("path-declared");
        db.exec("select amqp.exchange_declare(?, ?, 'fanout', false, false, true)", id, declared);
        Harness.publish(db, id, route.exchange(), Harness.bodies("m", 50));
        assertEquals(Harness.bodies("m", 50), Harness.drainBodies(amqp, route.queue(), 50, Duration.ofSeconds(30)));
        Eventually.until("the declaration is applied", Duration.ofSeconds(20), () -> "declared".equals(Harness.text(db,
            "select status from amqp.exchange_declaration where exchange = ?", declared)));
        Thread.sleep(1500); // backlog samples and a stranded-row sweep
        amqp.deleteExchange(declared);
      }

      ByteArrayOutputStream out = new ByteArrayOutputStream();
      int code = StatusCommand.run(new String[0], BridgeRunner.config(db, Map.of("pgamqp.db.user", role.name,
          "pgamqp.db.password", "")), new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
      assertEquals(0, code, out.toString(StandardCharsets.UTF_8));

      DatabaseSettings owner = DatabaseSettings.create(BridgeRunner.config(db, Map.of()));
      InstallCommand.install(owner);

      assertEquals("", Harness.text(db, "select coalesce(string_agg(distinct what, ', '), '') from evil.calls"),
          "hostile operators called by the bridge, status or install");
    }
  }
}
