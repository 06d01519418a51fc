package io.pgamqp.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Where the machine's CPU went during a measurement, from Linux's {@code /proc}: how busy all cores were, and the CPU
 * seconds of PostgreSQL's processes, RabbitMQ's, the bridge's JVM, this harness and the rest. On these 2-core machines
 * a latency tail or a publisher slowdown is often plain CPU saturation; this says so with numbers instead of a guess.
 * Processes are sampled every 250 ms, so one that ends inside the window (a pgbench client's backend) counts up to
 * its last sample.
 */
final class CpuShare {
  private static final double TICK = 100.0; // USER_HZ: clock ticks per second on Linux

  private final long bridgePid;
  private final Map<Long, Double> startSeconds;
  private final double startBusy;
  private final double startAll;
  private final double startInterrupts;
  private final Map<Long, Double> latest = new java.util.concurrent.ConcurrentHashMap<>();
  private final Thread sampler;

  private CpuShare(long bridgePid) {
    this.bridgePid = bridgePid;
    this.startSeconds = perProcess();
    double[] t = machine();
    this.startBusy = t[0];
    this.startAll = t[1];
    this.startInterrupts = t[2];
    this.sampler = new Thread(() -> {
      try {
        while (!Thread.currentThread().isInterrupted()) {
          latest.putAll(perProcess());
          Thread.sleep(250);
        }
      } catch (InterruptedException e) {
        // the window ended
      }
    }, "cpu-share-sampler");
    sampler.setDaemon(true);
    sampler.start();
  }

  /** Starts a window now; {@code bridgePid} names the bridge's JVM (0 when none runs). */
  static CpuShare start(long bridgePid) {
    return new CpuShare(bridgePid);
  }

  /** The window from start to now, e.g. "CPU 91% busy: postgres 39%, bridge 21%, rabbitmq 20%, harness 7%". */
  String end() {
    sampler.interrupt();
    Map<Long, Double> now = new HashMap<>(latest);
    now.putAll(perProcess());
    double[] t = machine();
    double all = t[1] - startAll;
    if (all <= 0) {
      return "CPU: not measured (no /proc)";
    }
    Map<String, Double> groups = new HashMap<>();
    long self = ProcessHandle.current().pid();
    Map<Long, String> names = new HashMap<>(commands);
    now.forEach((pid, seconds) -> {
      double used = seconds - startSeconds.getOrDefault(pid, 0.0);
      groups.merge(group(pid, self, names.getOrDefault(pid, "")), used, Double::sum);
    });
    // Interrupt time (loopback TCP between the processes is handled there) belongs to no process.
    groups.put("interrupts", t[2] - startInterrupts);
    StringBuilder b = new StringBuilder(String.format("CPU %.0f%% busy:", 100 * (t[0] - startBusy) / all));
    Map<String, Double> ordered = new LinkedHashMap<>();
    groups.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed())
        .forEach(e -> ordered.put(e.getKey(), e.getValue()));
    String sep = " ";
    for (Map.Entry<String, Double> e : ordered.entrySet()) {
      b.append(sep).append(String.format("%s %.0f%%", e.getKey(), 100 * e.getValue() / all));
      sep = ", ";
    }
    // Per-process times are sampled at clock ticks and miss processes that ended in the window: the rest is named.
    double rest = (t[0] - startBusy) - groups.values().stream().mapToDouble(Double::doubleValue).sum();
    if (rest > 0.01 * all) {
      b.append(sep).append(String.format("unattributed %.0f%%", 100 * rest / all));
    }
    return b.append(" of ").append(Runtime.getRuntime().availableProcessors()).append(" cores").toString();
  }

  private String group(long pid, long self, String comm) {
    if (pid == self) {
      return "harness";
    }
    if (pid == bridgePid) {
      return "bridge";
    }
    if (comm.equals("postgres")) {
      return "postgres";
    }
    if (comm.startsWith("beam") || comm.equals("erl_child_setup")) {
      return "rabbitmq";
    }
    return "other";
  }

  // Each process's command name as last sampled: an ended process's name is gone from /proc with it.
  private final Map<Long, String> commands = new java.util.concurrent.ConcurrentHashMap<>();

  private Map<Long, Double> perProcess() {
    Map<Long, Double> m = new HashMap<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : (Iterable<Path>) procs::iterator) {
        String name = p.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit)) {
          continue;
        }
        String stat = read(p.resolve("stat"));
        int close = stat.lastIndexOf(')');
        if (close < 0) {
          continue;
        }
        commands.put(Long.parseLong(name), stat.substring(stat.indexOf('(') + 1, close));
        String[] f = stat.substring(close + 2).split(" ");
        // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command's closing parenthesis.
        m.put(Long.parseLong(name), (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICK);
      }
    } catch (IOException | RuntimeException e) {
      return Map.of();
    }
    return m;
  }

  /** {busy, all, irq + softirq} CPU seconds of the machine since boot, from the first line of /proc/stat. */
  private static double[] machine() {
    String line = read(Path.of("/proc/stat")).lines().findFirst().orElse("");
    List<String> f = List.of(line.trim().split("\\s+"));
    if (f.size() < 6) {
      return new double[] {0, 0, 0};
    }
    double all = 0;
    for (int i = 1; i < Math.min(f.size(), 9); i++) { // user .. steal; guest time is counted in user already
      all += Long.parseLong(f.get(i));
    }
    double idle = Long.parseLong(f.get(4)) + Long.parseLong(f.get(5)); // idle + iowait
    double interrupts = Long.parseLong(f.get(6)) + Long.parseLong(f.get(7));
    return new double[] {(all - idle) / TICK, all / TICK, interrupts / TICK};
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }
}
