package io.pgamqp.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The proxy in front of a local echo server; needs no external server. */
class TcpProxyTest {

  private EchoServer echo;
  private TcpProxy proxy;

  @BeforeEach
  void start() throws IOException {
    echo = new EchoServer();
    proxy = new TcpProxy("127.0.0.1", echo.port());
  }

  @AfterEach
  void stop() throws IOException {
    proxy.close();
    echo.close();
  }

  @Test
  void forwardsBothWays() throws IOException {
    try (Socket socket = connect()) {
      assertEquals("hello", roundTrip(socket, "hello"));
      assertEquals("again", roundTrip(socket, "again"));
      assertEquals(1, proxy.openConnections());
    }
  }

  @Test
  void forwardsLargeStreamsIntact() throws Exception {
    byte[] sent = new byte[1 << 20];
    for (int i = 0; i < sent.length; i++) {
      sent[i] = (byte) (i * 31);
    }
    try (Socket socket = connect()) {
      Thread writer = new Thread(() -> {
        try {
          socket.getOutputStream().write(sent);
          socket.shutdownOutput();
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      });
      writer.start();
      byte[] received = socket.getInputStream().readAllBytes(); // the echo half-closes after our half-close
      writer.join();
      assertEquals(sent.length, received.length);
      assertTrue(java.util.Arrays.equals(sent, received));
    }
  }

  @Test
  void cutAllResetsOpenConnectionsButAcceptsNewOnes() throws IOException {
    try (Socket socket = connect()) {
      assertEquals("before", roundTrip(socket, "before"));
      proxy.cutAll();
      assertConnectionBroken(socket);
    }
    try (Socket socket = connect()) {
      assertEquals("after", roundTrip(socket, "after"));
    }
  }

  @Test
  void refuseNewResetsNewConnectionsOnly() throws IOException {
    try (Socket existing = connect()) {
      assertEquals("open", roundTrip(existing, "open"));
      proxy.refuseNew(true);
      try (Socket refused = connect()) {
        assertConnectionBroken(refused);
      }
      assertEquals("still open", roundTrip(existing, "still open"));
      proxy.refuseNew(false);
      try (Socket socket = connect()) {
        assertEquals("welcome back", roundTrip(socket, "welcome back"));
      }
    }
  }

  @Test
  void blackholeHoldsDataWithoutClosingAndReleasesIt() throws IOException {
    try (Socket socket = connect()) {
      assertEquals("warm", roundTrip(socket, "warm"));
      proxy.blackhole(true);
      send(socket, "held");
      socket.setSoTimeout(500);
      assertThrows(SocketTimeoutException.class, () -> socket.getInputStream().read());
      assertEquals(1, proxy.openConnections(), "a blackhole keeps the connection open");
      proxy.blackhole(false);
      socket.setSoTimeout(5_000);
      assertEquals("held", receive(socket, 4));
    }
  }

  @Test
  void latencyDelaysEachDirection() throws IOException {
    proxy.latency(Duration.ofMillis(200));
    try (Socket socket = connect()) {
      long start = System.nanoTime();
      assertEquals("slow", roundTrip(socket, "slow"));
      long millis = (System.nanoTime() - start) / 1_000_000;
      assertTrue(millis >= 400, "a round trip crosses the proxy twice, took " + millis + " ms");
      proxy.latency(Duration.ZERO);
      start = System.nanoTime();
      assertEquals("fast", roundTrip(socket, "fast"));
      millis = (System.nanoTime() - start) / 1_000_000;
      assertTrue(millis < 200, "latency removed, took " + millis + " ms");
    }
  }

  @Test
  void closeResetsEverythingAndStopsListening() throws IOException {
    Socket socket = connect();
    assertEquals("x", roundTrip(socket, "x"));
    int port = proxy.port();
    proxy.close();
    proxy.close();
    assertConnectionBroken(socket);
    socket.close();
    assertThrows(IOException.class, () -> new Socket("127.0.0.1", port).close());
  }

  private Socket connect() throws IOException {
    Socket socket = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
    socket.setSoTimeout(5_000);
    return socket;
  }

  private static String roundTrip(Socket socket, String text) throws IOException {
    send(socket, text);
    return receive(socket, text.length());
  }

  private static void send(Socket socket, String text) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write(text.getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  private static String receive(Socket socket, int length) throws IOException {
    byte[] bytes = socket.getInputStream().readNBytes(length);
    return new String(bytes, StandardCharsets.US_ASCII);
  }

  /** A reset or closed connection: the next read fails or sees EOF, without waiting for a timeout. */
  private static void assertConnectionBroken(Socket socket) throws IOException {
    socket.setSoTimeout(5_000);
    try {
      // A write may still be buffered locally; the read is what must fail.
      socket.getOutputStream().write('?');
      int read = socket.getInputStream().read();
      assertEquals(-1, read, "expected EOF or reset, read a byte");
    } catch (SocketTimeoutException e) {
      fail("connection still open: read timed out instead of failing");
    } catch (IOException expected) {
      // Connection reset / broken pipe.
    }
  }

  /** Echoes every connection's bytes back; half-closes its side when the client does. */
  private static final class EchoServer implements AutoCloseable {
    private final ServerSocket server;

    EchoServer() throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      Thread acceptor = new Thread(this::acceptLoop, "echo-accept");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    int port() {
      return server.getLocalPort();
    }

    private void acceptLoop() {
      while (true) {
        Socket socket;
        try {
          socket = server.accept();
        } catch (IOException closed) {
          return;
        }
        Thread worker = new Thread(() -> echo(socket), "echo-" + socket.getPort());
        worker.setDaemon(true);
        worker.start();
      }
    }

    private static void echo(Socket socket) {
      try (socket) {
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream();
        byte[] buffer = new byte[8192];
        int read;
        while ((read = in.read(buffer)) >= 0) {
          out.write(buffer, 0, read);
          out.flush();
        }
        socket.shutdownOutput();
      } catch (IOException ignored) {
        // Reset by the proxy: that is what the tests do.
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }
}
