package io.pgamqp.broker;

import io.pgamqp.outbox.OwnershipLock;
import io.pgamqp.testkit.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/** Who holds a broker's ownership lock, read from {@code pg_locks} (the advisory lock the bridges compete for). */
final class LockHolders {
  private static final String HOLDERS =
      "select l.pid, a.application_name from pg_catalog.pg_locks l"
          + " left join pg_catalog.pg_stat_activity a on a.pid = l.pid"
          + " where l.locktype = 'advisory' and l.classid = " + OwnershipLock.LOCK_CLASS
          + " and l.objid = ?::oid and l.objsubid = 2 and l.granted"
          + " and l.database = (select oid from pg_catalog.pg_database where datname = pg_catalog.current_database())";

  /** A session holding the lock. */
  record Holder(int pid, String applicationName) {}

  private LockHolders() {}

  static List<Holder> of(TestDatabase db, int brokerId) throws SQLException {
    List<Holder> holders = new ArrayList<>();
    try (Connection c = db.connect(); PreparedStatement ps = c.prepareStatement(HOLDERS)) {
      ps.setInt(1, brokerId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          holders.add(new Holder(rs.getInt(1), rs.getString(2)));
        }
      }
    }
    return holders;
  }
}
