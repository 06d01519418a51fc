package io.pgamqp.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** What install grants: PUBLIC and amqp_publisher only execute the API; amqp_bridge has exactly what the bridge needs. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RolesPostgresTest {
  private TestDatabase db;
  private int broker;

  @BeforeAll
  void createDatabase() throws SQLException {
    db = TestServers.get().createDatabase("roles");
    broker = db.insertBroker();
    db.exec("select amqp.publish(?, 'e', 'k', 'someone else''s secret body')", broker);
  }

  @AfterAll
  void dropDatabase() {
    if (db != null) {
      db.close();
    }
  }

  private List<String> rows(String sql) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Connection c = db.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  @Test
  void amqpBridgeHasExactlyTheTableAndColumnPrivilegesTheBridgesSqlNeeds() throws SQLException {
    assertEquals(List.of("broker:SELECT", "broker_state:SELECT", "disconnect_request:DELETE",
            "disconnect_request:SELECT", "exchange_declaration:SELECT", "held_destination:DELETE",
            "held_destination:INSERT", "held_destination:SELECT", "outbox:DELETE", "outbox:SELECT", "status:SELECT",
            "topology_declaration:DELETE", "topology_declaration:SELECT"),
        rows("select c.relname || ':' || a.privilege_type from pg_class c, aclexplode(c.relacl) a"
            + " where c.relnamespace = 'amqp'::regnamespace and a.grantee = 'amqp_bridge'::regrole order by 1"));
    assertEquals(List.of("broker_state.bridge_waiting_until:UPDATE", "broker_state.connected_since:UPDATE",
            "broker_state.connected_to:UPDATE", "broker_state.last_confirm_at:UPDATE", "broker_state.last_error:UPDATE",
            "broker_state.last_error_at:UPDATE", "broker_state.owned_since:UPDATE", "broker_state.owner:UPDATE",
            "exchange_declaration.applied_at:UPDATE", "exchange_declaration.last_error:UPDATE",
            "exchange_declaration.status:UPDATE", "held_destination.expired:UPDATE",
            "held_destination.last_error:UPDATE", "outbox.attempts:UPDATE", "outbox.last_error:UPDATE",
            "topology_declaration.applied_at:UPDATE", "topology_declaration.last_error:UPDATE",
            "topology_declaration.status:UPDATE"),
        rows("select c.relname || '.' || t.attname || ':' || a.privilege_type"
            + " from pg_class c join pg_attribute t on t.attrelid = c.oid, aclexplode(t.attacl) a"
            + " where c.relnamespace = 'amqp'::regnamespace and a.grantee = 'amqp_bridge'::regrole order by 1"));
    assertEquals(List.of("broker_status", "dead_letter_outbox", "outbox_defer", "outbox_reclaim", "scheduled_release",
        "schema_version"), rows("select p.proname"
        + " from pg_proc p, aclexplode(p.proacl) a"
        + " where p.pronamespace = 'amqp'::regnamespace and a.grantee = 'amqp_bridge'::regrole order by 1"));
  }

  /**
   * The probe's finding: with INSERT on amqp.dead_letter the bridge's role wrote a dead letter of its own (any body,
   * any message_id) that an admin's replay then sent. Now it can only have real outbox rows copied there.
   */
  @Test
  void theBridgeRoleCannotForgeADeadLetterOnlyMoveAnOutboxRow() throws SQLException {
    long row;
    try (Connection owner = db.connect(); Statement st = owner.createStatement()) {
      st.execute("select amqp.publish(" + broker + ", 'orders', 'k', 'the real body')");
      try (ResultSet rs = st.executeQuery("select max(id) from amqp.outbox where broker_id = " + broker)) {
        rs.next();
        row = rs.getLong(1);
      }
    }
    try (Roles bridge = new Roles("amqp_bridge"); Connection c = bridge.connect(db);
         Statement st = c.createStatement()) {
      SQLException e = assertThrows(SQLException.class, () -> st.execute("insert into amqp.dead_letter (outbox_id,"
          + " message_id, broker_id, exchange, routing_key, body, delivery_mode, created_at, attempts, reason)"
          + " values (1, 'forged-id', " + broker + ", 'payments', 'k', 'forged', 2, now(), 1, 'x')"));
      assertEquals("42501", e.getSQLState(), e.getMessage());
      try (ResultSet rs = st.executeQuery("select amqp.dead_letter_outbox(" + broker + ", array[" + row + ", -1],"
          + " array['unroutable', 'no such row'])")) {
        rs.next();
        assertEquals(1, rs.getInt(1), "only the real row moves");
      }
    }
    assertEquals(List.of("orders|the real body|" + row + "|unroutable"), rows("select exchange || '|' || body || '|'"
        + " || message_id || '|' || reason from amqp.dead_letter where outbox_id = " + row));
    assertEquals(List.of("0"), rows("select count(*)::text from amqp.outbox where id = " + row));
  }

  @Test
  void publicMayNotCreateInSchemaAmqpNorUseItsSequences() throws SQLException {
    assertEquals(List.of("false"), rows("select has_schema_privilege('public', 'amqp', 'create')::text"));
    assertEquals(List.of(), rows("select c.relname from pg_class c, aclexplode(c.relacl) a"
        + " where c.relnamespace = 'amqp'::regnamespace and a.grantee = 0"));
  }

  @Test
  void aPublisherCanPublishButReadsNoPasswordsNoBodiesAndNoBridgeState() throws SQLException {
    try (Roles publisher = new Roles("amqp_publisher"); Connection c = publisher.connect(db);
         Statement st = c.createStatement()) {
      st.execute("select amqp.publish(" + broker + ", 'e', 'k', 'mine')");
      st.execute("select amqp.disconnect(broker_id) from amqp.broker");
      for (String forbidden : List.of("select password from amqp.broker", "select host from amqp.broker",
          "select body from amqp.outbox", "select count(*) from amqp.outbox", "select body from amqp.dead_letter",
          "select * from amqp.broker_state", "select * from amqp.status", "select * from amqp.broker_status()",
          "update amqp.outbox set body = 'forged'", "delete from amqp.outbox",
          "update amqp.broker set password = 'x'", "create table amqp.mine (x int)",
          "create function amqp.publish(integer, text) returns boolean language sql as 'select true'")) {
        SQLException e = assertThrows(SQLException.class, () -> st.execute(forbidden), forbidden);
        assertEquals("42501", e.getSQLState(), forbidden + ": " + e.getMessage());
      }
    }
  }

  @Test
  void theBridgeRoleCannotChangeBrokersReadTheAuditOrForgeMessages() throws SQLException {
    try (Roles bridge = new Roles("amqp_bridge"); Connection c = bridge.connect(db);
         Statement st = c.createStatement()) {
      st.execute("select password from amqp.broker"); // it must: it connects with them
      for (String forbidden : List.of("update amqp.broker set password = 'x'",
          "insert into amqp.outbox (broker_id, exchange, body) values (" + broker + ", 'e', 'forged')",
          "update amqp.outbox set body = 'changed'", "update amqp.broker_state set max_body_bytes = 1",
          "insert into amqp.disconnect_request (broker_id) values (" + broker + ")",
          "select * from amqp.dead_letter", "delete from amqp.dead_letter", "select * from amqp.dead_letter_audit",
          "select amqp.dead_letter_replay(broker_id => 1)")) {
        SQLException e = assertThrows(SQLException.class, () -> st.execute(forbidden), forbidden);
        assertEquals("42501", e.getSQLState(), forbidden + ": " + e.getMessage());
      }
    }
  }
}
