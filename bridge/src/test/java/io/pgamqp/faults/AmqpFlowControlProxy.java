package io.pgamqp.faults;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A loopback proxy in front of an AMQP 0-9-1 broker that plays RabbitMQ's flow control (a memory or disk alarm), which
 * a test cannot trigger on a shared broker. {@link #block(String)} sends the client a real {@code connection.blocked}
 * frame and stops forwarding client→broker bytes (what a blocked RabbitMQ does: it stops reading the connection, while
 * still sending confirms for what it already read, and heartbeats); {@link #unblock()} sends
 * {@code connection.unblocked} and lets the held bytes through. The broker→client direction is parsed frame by frame
 * so the injected frames fall between frames.
 *
 * <p>Keep a block shorter than twice the negotiated heartbeat: the real broker behind the proxy is not blocked, so it
 * does expect the client's heartbeats. Threading: every method is thread-safe.
 */
final class AmqpFlowControlProxy implements AutoCloseable {
  private static final int FRAME_METHOD = 1;
  private static final int FRAME_END = 0xCE;

  private final InetSocketAddress target;
  private final ServerSocket server;
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private final Object gate = new Object();
  private volatile boolean holding;
  private volatile boolean closed;

  AmqpFlowControlProxy(String host, int port) {
    target = new InetSocketAddress(host, port);
    try {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Thread t = new Thread(this::acceptLoop, "amqp-flow-proxy-accept");
    t.setDaemon(true);
    t.start();
  }

  int port() {
    return server.getLocalPort();
  }

  int openConnections() {
    return links.size();
  }

  /** {@code connection.blocked(reason)} to every client, and client→broker bytes held from now on. */
  void block(String reason) throws IOException {
    synchronized (gate) {
      holding = true;
    }
    byte[] r = reason.getBytes(StandardCharsets.UTF_8);
    ByteBuffer args = ByteBuffer.allocate(4 + 1 + r.length);
    args.putShort((short) 10).putShort((short) 60).put((byte) r.length).put(r);
    for (Link l : links) {
      l.inject(args.array());
    }
  }

  /** {@code connection.unblocked} to every client, and the held bytes released. */
  void unblock() throws IOException {
    ByteBuffer args = ByteBuffer.allocate(4);
    args.putShort((short) 10).putShort((short) 61);
    for (Link l : links) {
      l.inject(args.array());
    }
    synchronized (gate) {
      holding = false;
      gate.notifyAll();
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException ignored) {
      // not listening any more either way
    }
    for (Link l : links) {
      l.close();
    }
    synchronized (gate) {
      holding = false;
      gate.notifyAll();
    }
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket();
        upstream.connect(target, 5_000);
        client.setTcpNoDelay(true);
        upstream.setTcpNoDelay(true);
        Link l = new Link(client, upstream);
        links.add(l);
        l.start();
      } catch (IOException e) {
        if (closed) {
          return;
        }
      }
    }
  }

  private final class Link {
    final Socket client;
    final Socket upstream;
    final Object writeLock = new Object();
    OutputStream toClient;

    Link(Socket client, Socket upstream) throws IOException {
      this.client = client;
      this.upstream = upstream;
      this.toClient = client.getOutputStream();
    }

    void start() {
      Thread up = new Thread(this::pumpUp, "amqp-flow-proxy-up");
      Thread down = new Thread(this::pumpDown, "amqp-flow-proxy-down");
      up.setDaemon(true);
      down.setDaemon(true);
      up.start();
      down.start();
    }

    void inject(byte[] methodPayload) throws IOException {
      ByteBuffer f = ByteBuffer.allocate(7 + methodPayload.length + 1);
      f.put((byte) FRAME_METHOD).putShort((short) 0).putInt(methodPayload.length).put(methodPayload)
          .put((byte) FRAME_END);
      synchronized (writeLock) {
        toClient.write(f.array());
        toClient.flush();
      }
    }

    private void pumpUp() {
      byte[] buf = new byte[16 * 1024];
      try (InputStream in = client.getInputStream(); OutputStream out = upstream.getOutputStream()) {
        int n;
        while ((n = in.read(buf)) >= 0) {
          synchronized (gate) {
            while (holding && !closed) {
              gate.wait();
            }
          }
          out.write(buf, 0, n);
          out.flush();
        }
      } catch (IOException | InterruptedException e) {
        // closed
      } finally {
        close();
      }
    }

    private void pumpDown() {
      try (DataInputStream in = new DataInputStream(upstream.getInputStream())) {
        byte[] header = new byte[7];
        while (true) {
          in.readFully(header);
          int size = ByteBuffer.wrap(header, 3, 4).getInt();
          byte[] rest = new byte[size + 1];
          in.readFully(rest);
          synchronized (writeLock) {
            toClient.write(header);
            toClient.write(rest);
            toClient.flush();
          }
        }
      } catch (EOFException e) {
        // broker closed
      } catch (IOException e) {
        // closed
      } finally {
        close();
      }
    }

    void close() {
      links.remove(this);
      try {
        client.close();
      } catch (IOException ignored) {
        // gone
      }
      try {
        upstream.close();
      } catch (IOException ignored) {
        // gone
      }
    }
  }
}
