package io.pgamqp.faults;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback TCP proxy for fault injection: listens on 127.0.0.1 (a free port) and forwards every connection to a
 * target, e.g. the test PostgreSQL server or AMQP broker. Point the code under test at {@link #port()}, then break
 * the network under it:
 * <ul>
 *   <li>{@link #cutAll()} resets (RST) every open connection, as a crashed peer or a killed firewall state would;</li>
 *   <li>{@link #refuseNew(boolean)} resets new connections right after accepting them, as a server that is down;</li>
 *   <li>{@link #blackhole(boolean)} stops forwarding in both directions but keeps the sockets open, as a network
 *       partition: peers see silence, not an error, until their own timeouts or heartbeats fire. Data held back is
 *       delivered when the blackhole is lifted, like TCP retransmission after a partition heals. New connections
 *       are still accepted (the kernel completes the TCP handshake) but carry nothing;</li>
 *   <li>{@link #latency(Duration)} delays each chunk read from either side before forwarding it (per chunk, so it also
 *       throttles a busy stream).</li>
 * </ul>
 *
 * <p>Design: blocking {@code java.net} sockets, an accept thread and two daemon threads per connection (one per
 * direction). A half-close (EOF) is forwarded as a half-close; an error on one side resets the other.
 *
 * <p>Threading: every method is thread-safe and may be called from the test's thread while traffic flows.
 */
public final class TcpProxy implements AutoCloseable {

  private static final int CHUNK_BYTES = 16 * 1024;
  private static final int CONNECT_TIMEOUT_MILLIS = 5_000;

  private final InetSocketAddress target;
  private final ServerSocket server;
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private final AtomicInteger accepted = new AtomicInteger();
  private final Object blackholeLock = new Object();
  private volatile boolean refuseNew;
  private volatile boolean blackhole; // guarded by blackholeLock for waits, volatile for the fast path
  private volatile long latencyNanos;
  private volatile boolean closed;
  private final Thread acceptor;

  /** Starts forwarding 127.0.0.1:{@link #port()} to {@code targetHost:targetPort}. */
  public TcpProxy(String targetHost, int targetPort) {
    this.target = new InetSocketAddress(targetHost, targetPort);
    try {
      this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen on loopback", e);
    }
    acceptor = new Thread(this::acceptLoop, "tcp-proxy-" + port() + "-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** The local port to connect to instead of the target's. */
  public int port() {
    return server.getLocalPort();
  }

  /** Resets every open connection (RST to both peers). New connections are still accepted. */
  public void cutAll() {
    for (Link link : links) {
      link.reset();
    }
  }

  /** While {@code true}, accepted connections are reset at once, before any byte is forwarded. */
  public void refuseNew(boolean refuse) {
    this.refuseNew = refuse;
  }

  /** While {@code true}, nothing is forwarded in either direction; sockets stay open, data is held back. */
  public void blackhole(boolean on) {
    synchronized (blackholeLock) {
      this.blackhole = on;
      blackholeLock.notifyAll();
    }
  }

  /** Delay added before forwarding each chunk, in either direction; {@link Duration#ZERO} for none. */
  public void latency(Duration delay) {
    if (delay.isNegative()) {
      throw new IllegalArgumentException("latency must not be negative: " + delay);
    }
    this.latencyNanos = delay.toNanos();
  }

  /** Connections currently open through the proxy. */
  public int openConnections() {
    return links.size();
  }

  /** Connections accepted since start, including refused ones. */
  public int acceptedConnections() {
    return accepted.get();
  }

  /** Stops listening and resets every open connection. Idempotent. */
  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException ignored) {
      // Closing a listening socket does not fail in practice.
    }
    cutAll(); // also wakes pumps held by a blackhole, so their threads end
    // Closing a socket another thread is accepting on only signals that thread; the kernel keeps listening (and
    // queueing connections) until its accept returns. Wait for it, so that closed means refusing.
    if (Thread.currentThread() != acceptor) {
      try {
        acceptor.join(2_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public String toString() {
    return "TcpProxy[127.0.0.1:" + port() + " -> " + target.getHostString() + ":" + target.getPort() + "]";
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      accepted.incrementAndGet();
      if (refuseNew || closed) {
        resetQuietly(client);
        continue;
      }
      Socket upstream = new Socket();
      try {
        upstream.connect(target, CONNECT_TIMEOUT_MILLIS);
        client.setTcpNoDelay(true);
        upstream.setTcpNoDelay(true);
      } catch (IOException e) {
        resetQuietly(client); // target down: look like it to the client
        resetQuietly(upstream);
        continue;
      }
      Link link = new Link(client, upstream);
      links.add(link);
      link.start();
    }
  }

  private void awaitForwarding(Link link) throws InterruptedException {
    long delay = latencyNanos;
    if (delay > 0) {
      Thread.sleep(delay / 1_000_000, (int) (delay % 1_000_000));
    }
    if (blackhole) {
      synchronized (blackholeLock) {
        while (blackhole && !closed && !link.isReset()) {
          blackholeLock.wait();
        }
      }
    }
  }

  private static void resetQuietly(Socket socket) {
    try {
      if (!socket.isClosed()) {
        socket.setSoLinger(true, 0); // close() then sends RST instead of FIN
      }
    } catch (SocketException ignored) {
      // Already reset by the peer.
    }
    try {
      socket.close();
    } catch (IOException ignored) {
      // Nothing more to release.
    }
  }

  /** One proxied connection: two pumps, client → upstream and upstream → client. */
  private final class Link {
    private final Socket client;
    private final Socket upstream;
    private final AtomicInteger pumpsDone = new AtomicInteger();
    private volatile boolean reset;

    Link(Socket client, Socket upstream) {
      this.client = client;
      this.upstream = upstream;
    }

    void start() {
      String name = "tcp-proxy-" + port() + "-" + client.getPort();
      Thread up = new Thread(() -> pump(client, upstream), name + "-up");
      Thread down = new Thread(() -> pump(upstream, client), name + "-down");
      up.setDaemon(true);
      down.setDaemon(true);
      up.start();
      down.start();
    }

    void reset() {
      reset = true;
      links.remove(this);
      resetQuietly(client);
      resetQuietly(upstream);
      synchronized (blackholeLock) {
        blackholeLock.notifyAll(); // wake this link's pumps if a blackhole holds them
      }
    }

    boolean isReset() {
      return reset;
    }

    private void pump(Socket from, Socket to) {
      byte[] buffer = new byte[CHUNK_BYTES];
      try {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        while (true) {
          int read = in.read(buffer);
          if (read < 0) {
            awaitForwarding(this); // the EOF is in order behind data that is being held back
            to.shutdownOutput(); // forward the half-close
            break;
          }
          awaitForwarding(this);
          out.write(buffer, 0, read);
          out.flush();
        }
        if (pumpsDone.incrementAndGet() == 2) {
          links.remove(this);
          client.close();
          upstream.close();
        }
      } catch (IOException e) {
        reset(); // one side failed or was cut: the other side must not wait forever
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        reset();
      }
    }
  }
}
