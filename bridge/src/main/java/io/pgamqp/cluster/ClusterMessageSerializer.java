package io.pgamqp.cluster;

import akka.serialization.SerializerWithStringManifest;
import java.io.NotSerializableException;
import java.nio.ByteBuffer;

/**
 * The wire form of the one message that crosses cluster nodes, {@link BrokerEntity.Ensure}: four bytes, its
 * broker_id. Hand-written rather than Jackson (akka-serialization-jackson and its ~3.5 MB of libraries) because the
 * protocol is one int; a new cluster message gets a manifest of its own here. Java serialization stays off.
 */
public final class ClusterMessageSerializer extends SerializerWithStringManifest {
  /** Akka reserves 0-40; 'pgaq'. */
  static final int IDENTIFIER = 0x70676171;
  private static final String ENSURE = "E";

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  @Override
  public String manifest(Object o) {
    if (o instanceof BrokerEntity.Ensure) {
      return ENSURE;
    }
    throw new IllegalArgumentException("not a pgamqp cluster message: " + o.getClass().getName());
  }

  @Override
  public byte[] toBinary(Object o) {
    if (o instanceof BrokerEntity.Ensure e) {
      return ByteBuffer.allocate(Integer.BYTES).putInt(e.brokerId()).array();
    }
    throw new IllegalArgumentException("not a pgamqp cluster message: " + o.getClass().getName());
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    if (ENSURE.equals(manifest) && bytes.length == Integer.BYTES) {
      return new BrokerEntity.Ensure(ByteBuffer.wrap(bytes).getInt());
    }
    throw new NotSerializableException("unknown pgamqp cluster message: manifest '" + manifest + "', "
        + bytes.length + " bytes");
  }
}
