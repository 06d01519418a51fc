package io.pgamqp.security;

import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;

/** A throwaway LOGIN role (cluster-wide, created and dropped through database postgres), optionally in a group. */
final class Roles implements AutoCloseable {
  final String name;

  Roles(String memberOf) throws SQLException {
    name = "pgamqp_sec_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    exec("create role " + name + " login" + (memberOf == null ? "" : " in role " + memberOf));
  }

  Connection connect(io.pgamqp.testkit.TestDatabase db) throws SQLException {
    return DriverManager.getConnection(db.jdbcUrl(), name, "");
  }

  @Override
  public void close() throws SQLException {
    exec("drop role if exists " + name);
  }

  private static void exec(String sql) throws SQLException {
    TestServers s = TestServers.get();
    try (Connection c = DriverManager.getConnection(s.jdbcUrl("postgres"), s.dbUser(), s.dbPassword());
         Statement st = c.createStatement()) {
      st.execute(sql);
    }
  }
}
