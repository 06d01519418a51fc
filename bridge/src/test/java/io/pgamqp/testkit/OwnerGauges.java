package io.pgamqp.testkit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Samples {@code pgamqp_broker_owned} for one broker on several bridges' {@code /metrics} every 50 ms, counting the
 * samples in which more than one bridge says it owns the broker. A bridge that does not answer (killed, or not up yet)
 * counts as not owning it. Thread-safe; {@link #close()} stops sampling.
 */
public final class OwnerGauges implements AutoCloseable {
  private static final Duration EVERY = Duration.ofMillis(50);

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
  private final List<Integer> ports;
  private final int brokerId;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AtomicInteger samples = new AtomicInteger();
  private final AtomicInteger twoOwners = new AtomicInteger();
  private final AtomicInteger noOwner = new AtomicInteger();
  private final Thread thread;

  private OwnerGauges(List<Integer> ports, int brokerId) {
    this.ports = List.copyOf(ports);
    this.brokerId = brokerId;
    this.thread = new Thread(this::loop, "owner-gauges");
    thread.setDaemon(true);
  }

  /** Starts sampling the bridges whose operations ports are {@code ports}. */
  public static OwnerGauges start(List<Integer> ports, int brokerId) {
    OwnerGauges gauges = new OwnerGauges(ports, brokerId);
    gauges.thread.start();
    return gauges;
  }

  /** A free TCP port on 127.0.0.1, for a bridge's pgamqp.http.port. */
  public static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    }
  }

  public int samples() {
    return samples.get();
  }

  /** Samples in which two or more bridges reported owning the broker. */
  public int twoOwners() {
    return twoOwners.get();
  }

  /** Samples in which no bridge did (hand-over, outage). */
  public int noOwner() {
    return noOwner.get();
  }

  private void loop() {
    while (running.get()) {
      // Two passes: the ports are read one after the other, and a hand-over completing between the reads of two
      // ports (one released after it was read, the other took over before it was read) is not two owners. A port
      // that reads owned in both passes owned the broker throughout from its first to its second read; any two such
      // intervals overlap (every first read comes before every second read): those are two owners at once.
      int[] first = new int[ports.size()];
      int anyOwner = 0;
      for (int i = 0; i < first.length; i++) {
        first[i] = owned(ports.get(i));
        anyOwner += first[i];
      }
      int owners = 0;
      for (int i = 0; i < first.length; i++) {
        if (first[i] == 1) {
          owners += owned(ports.get(i));
        }
      }
      samples.incrementAndGet();
      if (owners > 1) {
        twoOwners.incrementAndGet();
      } else if (anyOwner == 0) {
        noOwner.incrementAndGet();
      }
      try {
        Thread.sleep(EVERY.toMillis());
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private int owned(int port) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
          .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
      Matcher m = Pattern.compile("(?m)^pgamqp_broker_owned\\{broker=\"" + brokerId + "\"[^}]*\\} ([0-9.]+)$")
          .matcher(r.body());
      return m.find() && Double.parseDouble(m.group(1)) >= 1 ? 1 : 0;
    } catch (IOException e) {
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    }
  }

  @Override
  public void close() throws InterruptedException {
    running.set(false);
    thread.interrupt();
    thread.join(5_000);
  }

  @Override
  public String toString() {
    return samples() + " owner samples, " + twoOwners() + " with two owners, " + noOwner() + " with none";
  }
}
