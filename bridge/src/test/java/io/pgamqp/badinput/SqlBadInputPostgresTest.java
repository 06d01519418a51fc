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
 * (exchange, queue, routing key, content_type, reply_to, correlation_id: 255 bytes), reserved exchange and queue
 * names, arguments that are no JSON object, and what a UTF-8 database cannot hold at all (NUL, binary).
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
        // Topology: queue_declare, the binds and unbinds, exchange_declare's arguments.
        Arguments.of("queue_declare of a NULL queue", "select amqp.queue_declare(%d, null)",
            "22004", "amqp.queue_declare: queue must not be null"),
        Arguments.of("queue_declare with a NULL durable", "select amqp.queue_declare(%d, 'q', null)",
            "22004", "amqp.queue_declare: durable and auto_delete must not be null"),
        Arguments.of("queue_declare of an empty name", "select amqp.queue_declare(%d, '')",
            "22023", "amqp.queue_declare: queue must not be empty"),
        Arguments.of("queue_declare of a 256-byte name", "select amqp.queue_declare(%d, '" + "q".repeat(256) + "')",
            "22001", "amqp.queue_declare: queue is 256 bytes long, AMQP allows at most 255"),
        Arguments.of("queue_declare of a reserved amq. name", "select amqp.queue_declare(%d, 'amq.mine')",
            "22023", "amqp.queue_declare: queue names starting with amq. are reserved, cannot declare 'amq.mine'"),
        Arguments.of("queue_declare with arguments that are an array",
            "select amqp.queue_declare(%d, 'q', arguments => '[\"x-queue-type\", \"quorum\"]')",
            "22023", "amqp.queue_declare: arguments must be a JSON object, not array"),
        Arguments.of("queue_declare with an argument name of 256 bytes",
            "select amqp.queue_declare(%d, 'q', arguments => jsonb_build_object(repeat('a', 256), 1))",
            "22001", "amqp.queue_declare: an argument name is 256 bytes long, AMQP allows at most 255"),
        Arguments.of("queue_declare with an integer argument beyond 64 bits",
            "select amqp.queue_declare(%d, 'q', arguments => '{\"x-message-ttl\": 99999999999999999999}')",
            "22003", "amqp.queue_declare: argument x-message-ttl holds a number AMQP cannot carry"),
        Arguments.of("queue_declare of an unknown broker", "select amqp.queue_declare(987654 + 0 * %d, 'q')",
            "23503", "amqp.queue_declare: unknown broker_id 987654"),
        Arguments.of("queue_declare of a NULL broker", "select amqp.queue_declare(null + 0 * %d, 'q')",
            "22004", "amqp.queue_declare: broker_id must not be null"),
        Arguments.of("queue_bind of a NULL exchange", "select amqp.queue_bind(%d, 'q', null)",
            "22004", "amqp.queue_bind: exchange must not be null"),
        Arguments.of("queue_bind to the default exchange", "select amqp.queue_bind(%d, 'q', '')",
            "22023", "amqp.queue_bind: exchange must not be the default exchange ''"),
        Arguments.of("queue_bind with a NULL routing_key", "select amqp.queue_bind(%d, 'q', 'x', null)",
            "22004", "amqp.queue_bind: routing_key must not be null"),
        Arguments.of("queue_bind with a 300-byte routing_key",
            "select amqp.queue_bind(%d, 'q', 'x', '" + "k".repeat(300) + "')",
            "22001", "amqp.queue_bind: routing_key is 300 bytes long, AMQP allows at most 255"),
        Arguments.of("queue_bind with arguments that are a string", "select amqp.queue_bind(%d, 'q', 'x', '', '\"all\"')",
            "22023", "amqp.queue_bind: arguments must be a JSON object, not string"),
        Arguments.of("queue_unbind of an unknown broker", "select amqp.queue_unbind(987654 + 0 * %d, 'q', 'x')",
            "23503", "amqp.queue_unbind: unknown broker_id 987654"),
        Arguments.of("exchange_bind of an empty destination", "select amqp.exchange_bind(%d, '', 'x')",
            "22023", "amqp.exchange_bind: destination must not be empty"),
        Arguments.of("exchange_bind of a 256-byte source", "select amqp.exchange_bind(%d, 'd', '" + "s".repeat(256) + "')",
            "22001", "amqp.exchange_bind: source is 256 bytes long, AMQP allows at most 255"),
        Arguments.of("exchange_unbind of a NULL source", "select amqp.exchange_unbind(%d, 'd', null)",
            "22004", "amqp.exchange_unbind: source must not be null"),
        Arguments.of("exchange_declare with arguments that are a number",
            "select amqp.exchange_declare(%d, 'x', 'direct', false, true, false, '42')",
            "22023", "amqp.exchange_declare: arguments must be a JSON object, not number"),
        Arguments.of("disconnect of an unknown broker", "select amqp.disconnect(987654)",
            "23503", "amqp.disconnect: unknown broker_id 987654"),
        // Message fidelity: headers, properties, trace context, the JSON and binary functions.
        Arguments.of("headers that are an array", "select amqp.publish(%d, 'e', 'k', 'm', headers => '[1, 2]')",
            "22023", "amqp.publish: headers must be a JSON object, not array"),
        Arguments.of("publish_many headers that are a string",
            "select amqp.publish_many(%d, 'e', array['k'], array['m'], headers => '\"h\"')",
            "22023", "amqp.publish_many: headers must be a JSON object, not string"),
        Arguments.of("a header name of 256 bytes",
            "select amqp.publish(%d, 'e', 'k', 'm', headers => jsonb_build_object(repeat('h', 256), 1))",
            "22001", "amqp.publish: a header name is 256 bytes long, AMQP allows at most 255"),
        Arguments.of("a nested header name of 300 bytes",
            "select amqp.publish_json(%d, 'e', 'k', '{}', headers => jsonb_build_object('o', jsonb_build_array("
                + "jsonb_build_object(repeat('h', 300), true))))",
            "22001", "amqp.publish_json: a header name is 300 bytes long, AMQP allows at most 255"),
        Arguments.of("headers nested 17 deep", "select amqp.publish(%d, 'e', 'k', 'm', headers => '"
            + "{\"a\": ".repeat(17) + "1" + "}".repeat(17) + "')",
            "22023", "amqp.publish: headers nest deeper than 16 levels (at a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a)"),
        Arguments.of("an integer header beyond 64 bits",
            "select amqp.publish(%d, 'e', 'k', 'm', headers => '{\"n\": 99999999999999999999}')",
            "22003", "amqp.publish: header n holds a number AMQP cannot carry"),
        Arguments.of("priority 256", "select amqp.publish(%d, 'e', 'k', 'm', priority => 256)",
            "22023", "amqp.publish: priority 256 is outside 0-255"),
        Arguments.of("priority -1", "select amqp.publish_bytes(%d, 'e', 'k', '\\x00', priority => -1)",
            "22023", "amqp.publish_bytes: priority -1 is outside 0-255"),
        Arguments.of("a negative expiration", "select amqp.publish(%d, 'e', 'k', 'm', expiration => interval '-1 second')",
            "22023", "amqp.publish: expiration -00:00:01 is negative"),
        Arguments.of("a traceparent that is not W3C's",
            "begin; set local amqp.traceparent = '00-abc-def-01'; select amqp.publish(%d, 'e', 'k', 'm'); commit",
            "22023", "amqp.publish: amqp.traceparent '00-abc-def-01' is not a W3C traceparent"),
        Arguments.of("an all-zero trace id",
            "begin; set local amqp.traceparent = '00-00000000000000000000000000000000-00f067aa0ba902b7-01';"
                + " select amqp.publish_many(%d, 'e', array['k'], array['m']); commit",
            "22023", "amqp.publish_many: amqp.traceparent '00-00000000000000000000000000000000-00f067aa0ba902b7-01'"
                + " is not a W3C traceparent"),
        Arguments.of("message_id of 256 bytes",
            "select amqp.publish(%d, 'e', 'k', 'm', message_id => repeat('i', 256))",
            "22001", "amqp.publish: message_id is 256 bytes long, AMQP allows at most 255"),
        Arguments.of("publish_many message_ids of the wrong length",
            "select amqp.publish_many(%d, 'e', array['k'], array['a', 'b'], message_ids => array['only-one'])",
            "22023", "amqp.publish_many: message_ids has 1 elements but messages has 2"),
        Arguments.of("publish_json of a NULL payload", "select amqp.publish_json(%d, 'e', 'k', null)",
            "22004", "amqp.publish_json: payload must not be null"),
        Arguments.of("publish_bytes of a NULL body", "select amqp.publish_bytes(%d, 'e', 'k', null)",
            "22004", "amqp.publish_bytes: body must not be null"),
        Arguments.of("deliver_at infinity", "select amqp.publish(%d, 'e', 'k', 'm', deliver_at => 'infinity')",
            "22008", "amqp.publish: deliver_at is infinity: the message would never be sent"),
        Arguments.of("publish_many deliver_at infinity",
            "select amqp.publish_many(%d, 'e', array['k'], array['m'], deliver_at => 'infinity')",
            "22008", "amqp.publish_many: deliver_at is infinity: the message would never be sent"),
        Arguments.of("a delayed message is checked like any other",
            "select amqp.publish(%d, 'e', 'k', 'm', priority => 256, deliver_at => now() + interval '1 hour')",
            "22023", "amqp.publish: priority 256 is outside 0-255"),
        Arguments.of("a delayed publish_many with a NULL message",
            "select amqp.publish_many(%d, 'e', array['k'], array['a', null], deliver_at => now() + interval '1 hour')",
            "22004", "amqp.publish_many: messages[2] must not be null"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refused")
  void refusedWithAHintAndNothingQueued(String label, String sql, String state, String message) throws SQLException {
    String queued = "select (select count(*) from amqp.outbox) + (select count(*) from amqp.scheduled)";
    long before = db.queryLong(queued);
    long declared = db.queryLong("select count(*) from amqp.topology");
    ServerErrorMessage e = serverError(sql.formatted(broker));
    assertEquals(state, e.getSQLState(), label);
    assertEquals(message, e.getMessage(), label);
    assertNotNull(e.getHint(), () -> label + ": a hint");
    assertEquals(before, db.queryLong(queued), "nothing queued");
    assertEquals(declared, db.queryLong("select count(*) from amqp.topology"), "nothing recorded");
  }

  @Test
  void headersCountAgainstMaxBodyBytes() throws SQLException {
    long before = db.queryLong("select count(*) from amqp.outbox");
    ServerErrorMessage e = serverError("select amqp.publish(" + broker + ", 'e', 'k', 'm',"
        + " headers => jsonb_build_object('h', repeat('x', 8388600)))");
    assertEquals("54000", e.getSQLState());
    assertEquals("amqp.publish: message of 1 bytes with 8388609 bytes of headers exceeds max_body_bytes 8388608 of"
        + " broker_id " + broker, e.getMessage());
    assertNotNull(e.getHint());
    assertEquals(before, db.queryLong("select count(*) from amqp.outbox"));
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
  void binaryIsNotAcceptedAsATextMessageItGoesThroughPublishBytes() throws SQLException {
    ServerErrorMessage e = serverError("select amqp.publish(" + broker + ", 'e', 'k', '\\x00ff'::bytea)");
    assertEquals("42883", e.getSQLState()); // no amqp.publish(..., bytea): PostgreSQL's hint says to cast
    assertNotNull(e.getHint());
    db.exec("select amqp.publish_bytes(?, 'e', 'k', '\\x00ff'::bytea)", broker);
    assertEquals(1, db.queryLong("select count(*) from amqp.outbox where broker_id = ? and body_bytes = '\\x00ff'",
        broker));
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
