package io.pgamqp.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * RabbitMQ's own ceiling on this machine: PerfTest (com.rabbitmq:perf-test) with one producer, at most 1000
 * unconfirmed messages, one consumer, fixed body size, run as a separate JVM so it does not share our heap.
 */
final class PerfTestCeiling {
  private static final Pattern RATE = Pattern.compile("(sending|receiving) rate avg: (\\d+) msg/s");

  record Result(double sendRate, double receiveRate) {}

  private PerfTestCeiling() {}

  static Result run(String host, int port, boolean persistent, int bodyBytes, int seconds) throws IOException,
      InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"),
        "com.rabbitmq.perf.PerfTest",
        "-h", "amqp://guest:guest@" + host + ":" + port,
        "-x", "1", "-y", "1", "-c", "1000", "-s", String.valueOf(bodyBytes), "-z", String.valueOf(seconds),
        "-u", "pgamqp.bench.perftest." + ProcessHandle.current().pid() + (persistent ? ".p" : ".t"),
        "-ad", "true"));
    if (persistent) {
      cmd.add("-f");
      cmd.add("persistent");
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    double send = 0;
    double receive = 0;
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        Matcher m = RATE.matcher(line);
        if (m.find()) {
          if (m.group(1).equals("sending")) {
            send = Double.parseDouble(m.group(2));
          } else {
            receive = Double.parseDouble(m.group(2));
          }
        }
      }
    }
    if (p.waitFor() != 0 || receive == 0) {
      throw new IOException("PerfTest failed (exit " + p.exitValue() + ")");
    }
    return new Result(send, receive);
  }
}
