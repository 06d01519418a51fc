package io.pgamqp.security;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;

/**
 * A TLS endpoint in front of a plain TCP server (RabbitMQ): accepts TLS on 127.0.0.1:0 with the given server identity
 * and forwards the decrypted bytes to target. One pair of pump threads per connection; close() ends everything.
 */
final class TlsTerminatingProxy implements AutoCloseable {
  private final ServerSocket server;
  private final String targetHost;
  private final int targetPort;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final AtomicInteger handshakes = new AtomicInteger();
  private volatile boolean closed;

  TlsTerminatingProxy(SSLContext context, String targetHost, int targetPort) throws IOException {
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    SSLServerSocket s = (SSLServerSocket) context.getServerSocketFactory().createServerSocket();
    s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    this.server = s;
    Thread t = new Thread(this::acceptLoop, "tls-proxy-accept");
    t.setDaemon(true);
    t.start();
  }

  int port() {
    return server.getLocalPort();
  }

  /** TLS handshakes that completed (a refused client never completes one). */
  int completedHandshakes() {
    return handshakes.get();
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket client = server.accept();
        sockets.add(client);
        Thread t = new Thread(() -> serve(client), "tls-proxy-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        if (closed) {
          return;
        }
      }
    }
  }

  private void serve(Socket client) {
    try {
      ((javax.net.ssl.SSLSocket) client).startHandshake();
      handshakes.incrementAndGet();
      Socket upstream = new Socket(targetHost, targetPort);
      sockets.add(upstream);
      Thread back = new Thread(() -> pump(upstream, client), "tls-proxy-down");
      back.setDaemon(true);
      back.start();
      pump(client, upstream);
    } catch (IOException e) {
      closeQuietly(client); // e.g. the client refused our certificate
    }
  }

  private static void pump(Socket from, Socket to) {
    byte[] buf = new byte[64 * 1024];
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      int n;
      while ((n = in.read(buf)) >= 0) {
        out.write(buf, 0, n);
        out.flush();
      }
    } catch (IOException ignored) {
      // either side went away
    } finally {
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // nothing to do
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException ignored) {
      // nothing to do
    }
    sockets.forEach(TlsTerminatingProxy::closeQuietly);
  }
}
