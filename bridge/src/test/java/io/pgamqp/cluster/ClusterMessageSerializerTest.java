package io.pgamqp.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.NotSerializableException;
import org.junit.jupiter.api.Test;

class ClusterMessageSerializerTest {
  private final ClusterMessageSerializer serializer = new ClusterMessageSerializer();

  @Test
  void ensureRoundTripsAsFourBytes() throws Exception {
    for (int id : new int[] {1, 42, Integer.MAX_VALUE, -7}) {
      BrokerEntity.Ensure e = new BrokerEntity.Ensure(id);
      byte[] bytes = serializer.toBinary(e);
      assertEquals(4, bytes.length);
      assertEquals(e, serializer.fromBinary(bytes, serializer.manifest(e)));
    }
    assertArrayEquals(new byte[] {0, 0, 0, 42}, serializer.toBinary(new BrokerEntity.Ensure(42)));
  }

  @Test
  void refusesWhatItDoesNotKnow() {
    assertThrows(IllegalArgumentException.class, () -> serializer.toBinary("not ours"));
    assertThrows(NotSerializableException.class, () -> serializer.fromBinary(new byte[4], "X"));
    assertThrows(NotSerializableException.class, () -> serializer.fromBinary(new byte[3], "E"));
  }
}
