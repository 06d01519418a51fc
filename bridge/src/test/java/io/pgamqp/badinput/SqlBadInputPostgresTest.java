package io.pgamqp.badinput;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgamqp.testkit.TestDatabase;
import io.pgamqp.testkit.TestServers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * Bad input that the SQL functions refuse with an ERROR and a HINT, queueing nothing: AMQP short-string limits
 * (exchange, routing key, content_type, reply_to, correlation_id: 255 bytes), reserved exchange names, and what a
 * UTF-8 database cannot hold at all (NUL, binary).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SqlBadInputPostgresTest {
  private TestDatabase db;
  private int broker;

  @BeforeAll
  void createDatabase() throws SQLException {
    db = TestServers.get().createDatabase("badinput_sql");
    broker = db.insertBroker();
  }

  @AfterAll
  void dropDatabase() {
    if (db != null) {
      db.close();
    }
  }

  static Stream<Arguments> refused() {
    String mb = "x".repeat(1 << 20);
    return Stream.of(
        Arguments.of("exchange of 256 bytes", "select amqp.publish(%d, '" + "e".repeat(256) + "', 'k', 'm')",
            "22001", "amqp.publish: exchange is 256 bytes long, AMQP allows at most 255"),
        Arguments.of("routing_key of 300 bytes", "select amqp.publish(%d, 'e', '" + "k".repeat(300) + "', 'm')",
            "22001", "amqp.publish: routing_key is 300 bytes long, AMQP allows at most 255"),
        Arguments.of("content_type of 128 two-byte characters (256 bytes)",
            "select amqp.publish(%d, 'e', 'k', 'm', content_type => '" + "é".repeat(128) + "')",
            "22001", "amqp.publish: content_type is 256 bytes long, AMQP allows at most 255"),
        Arguments.of("reply_to of 1 MB", "select amqp.publish(%d, 'e', 'k', 'm', reply_to => repeat('r', 1048576))",
            "22001", "amqp.publish: reply_to is 1048576 bytes long, AMQP allows at most 255"),
        Arguments.of("correlation_id of 1 MB", "select amqp.publish(%d, 'e', 'k', 'm', correlation_id => '" + mb + "')",
            "22001", "amqp.publish: correlation_id is 1048576 bytes long, AMQP allows at most 255"),
        Arguments.of("autonomous_publish with a 1 MB content_type",
            "select amqp.autonomous_publish(%d, 'e', 'k', 'm', content_type => repeat('c', 1048576))",
            "22001", "amqp.publish: content_type is 1048576 bytes long, AMQP allows at most 255"),
        Arguments.of("exchange_declare of a 256-byte name",
            "select amqp.exchange_declare(%d, '" + "e".repeat(256) + "', 'direct', false, true)",
            "22001", "amqp.exchange_declare: exchange is 256 bytes long, AMQP allows at most 255"),
        Arguments.of("exchange_declare of a reserved amq. name",
            "select amqp.exchange_declare(%d, 'amq.mine', 'direct', false, true)",
            "22023", "amqp.exchange_declare: exchange names starting with amq. are reserved, cannot declare 'amq.mine'"),
        Arguments.of("exchange_declare with an empty exchange_type",
            "select amqp.exchange_declare(%d, 'e', '', false, true)",
            "22023", "amqp.exchange_declare: unknown exchange_type ''"),
        Arguments.of("disconnect of an unknown broker", "select amqp.disconnect(987654)",
            "23503", "amqp.disconnect: unknown broker_id 987654"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refused")
  void refusedWithAHintAndNothingQueued(String label, String sql, String state, String message) throws SQLException {
    long before = db.queryLong("select count(*) from amqp.outbox");
    ServerErrorMessage e = serverError(sql.formatted(broker));
    assertEquals(state, e.getSQLState(), label);
    assertEquals(message, e.getMessage(), label);
    assertNotNull(e.getHint(), () -> label + ": a hint");
    assertEquals(before, db.queryLong("select count(*) from amqp.outbox"), "nothing queued");
  }

  @Test
  void exactly255BytesAndAPassiveCheckOfAnAmqExchangeAreAccepted() throws SQLException {
    String k255 = "é".repeat(127) + "k"; // 255 bytes
    db.exec("select amqp.publish(?, ?, ?, 'm', 1, ?, ?, ?)", broker, "x".repeat(255), k255, k255, k255, k255);
    db.exec("select amqp.exchange_declare(?, 'amq.direct', 'direct', true, true)", broker);
  }

  @Test
  void aNulCharacterCannotBeSentAsTextTheServerRefusesItBeforeThePublish() throws SQLException {
    long before = db.queryLong("select count(*) from amqp.outbox");
    SQLException e = assertThrows(SQLException.class, () -> {
      try (Connection c = db.connect(); PreparedStatement ps = c.prepareStatement("select amqp.publish(?, 'e', 'k', ?)")) {
        ps.setInt(1, broker);
        ps.setString(2, "a\u0000b");
        ps.executeQuery();
      }
    });
    assertEquals("22021", e.getSQLState(), e.getMessage()); // invalid byte sequence for encoding "UTF8": 0x00
    assertEquals(before, db.queryLong("select count(*) from amqp.outbox"));
  }

  @Test
  void binaryIsNotAcceptedAsAMessageUseBase64() throws SQLException {
    ServerErrorMessage e = serverError("select amqp.publish(" + broker + ", 'e', 'k', '\\x00ff'::bytea)");
    assertEquals("42883", e.getSQLState()); // no amqp.publish(..., bytea): PostgreSQL's hint says to cast
    assertNotNull(e.getHint());
    db.exec("select amqp.publish(?, 'e', 'k', encode('\\x00ff'::bytea, 'base64'), content_type => 'application/base64')",
        broker);
  }

  @Test
  void fourByteCharactersAndEmptyStringsAreValidAndStoredVerbatim() throws SQLException {
    String body = "emoji \uD83D\uDE80 and \u0001 control, CJK \u4E2D";
    db.exec("select amqp.publish(?, '', '', ?)", broker, body);
    assertEquals(1, db.queryLong("select count(*) from amqp.outbox where broker_id = ? and body = ?"
        + " and exchange = '' and routing_key = ''", broker, body));
    db.exec("select amqp.publish(?, 'e', 'k', '')", broker);
    assertEquals(1, db.queryLong("select count(*) from amqp.outbox where broker_id = ? and body = ''", broker));
  }

  private ServerErrorMessage serverError(String sql) {
    PSQLException e = assertThrows(PSQLException.class, () -> db.exec(sql));
    ServerErrorMessage m = e.getServerErrorMessage();
    assertNotNull(m, e::toString);
    assertTrue(m.getSQLState() != null);
    return m;
  }
}
