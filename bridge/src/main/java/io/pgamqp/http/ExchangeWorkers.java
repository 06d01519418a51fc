package io.pgamqp.http;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedTransferQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads of the operations endpoint's JDK server ({@code com.sun.net.httpserver}), which runs each request on
 * its executor from the request line's first byte to the response's last. Two things the JDK server does not do for
 * us are done here:
 * <ul>
 *   <li><b>At most {@code max-connections} requests served at once; more wait.</b> A thread starts only when no idle
 *       one can take the request (as in Tomcat's task queue: a plain fixed pool would grow to its maximum even under
 *       light load); at the maximum, further requests wait in a queue until a thread is free.
 *   <li><b>{@code idle-timeout} for a request stuck on its socket.</b> The JDK server reads the request line and the
 *       headers, and writes the response, with blocking reads and writes: a client that sends half a request line and
 *       goes silent holds its thread for good, and enough of them starve liveness probes. A watchdog interrupts a
 *       thread whose request has been reading or writing for longer than the idle timeout; the interrupt closes its
 *       socket channel (an {@code InterruptibleChannel}), and the JDK server drops the connection. Time the handler
 *       spends between reading and writing ({@link #busy()}: waiting for the bridge's status, at most
 *       {@code status-timeout}) does not count.
 * </ul>
 * Connections idle between requests hold no thread; the JDK server closes them itself ({@link HttpEndpoint}).
 *
 * <p>Threading: {@link #execute} is called by the JDK server's dispatcher thread; {@link #busy()} and {@link #io()}
 * only by the thread running a request, on itself. Threads are daemons named {@code pgamqp-http-N}.
 */
final class ExchangeWorkers implements Executor, AutoCloseable {
  private static final ThreadLocal<Watched> CURRENT = new ThreadLocal<>();

  private final Duration idleTimeout;
  private final HandOffQueue queue = new HandOffQueue();
  private final ThreadPoolExecutor pool;
  private final ScheduledExecutorService watchdog;
  private final Set<Watched> running = ConcurrentHashMap.newKeySet();

  /**
   * @param maxThreads requests served at once (pgamqp.http.max-connections)
   * @param idleTimeout how long a request may be stuck reading or writing (pgamqp.http.idle-timeout)
   */
  ExchangeWorkers(int maxThreads, Duration idleTimeout) {
    this.idleTimeout = idleTimeout;
    AtomicInteger count = new AtomicInteger();
    ThreadFactory workers = r -> daemon(r, "pgamqp-http-" + count.incrementAndGet());
    // One core thread always waits for work, so a request forced into the queue below is never stranded.
    pool = new ThreadPoolExecutor(1, maxThreads, 60, TimeUnit.SECONDS, queue, workers, (r, p) -> {
      if (p.isShutdown() || !queue.enqueue(r)) {
        throw new RejectedExecutionException("the operations endpoint is stopping");
      }
    });
    ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1, r -> daemon(r, "pgamqp-http-watchdog"));
    scheduler.setRemoveOnCancelPolicy(true);
    watchdog = scheduler;
    long tick = Math.max(50, Math.min(1000, idleTimeout.toMillis() / 4));
    watchdog.scheduleAtFixedRate(this::interruptStalled, tick, tick, TimeUnit.MILLISECONDS);
  }

  @Override
  public void execute(Runnable exchange) {
    pool.execute(new Watched(exchange));
  }

  /** The current request's thread stops reading: what follows until {@link #io()} is not its socket's fault. */
  static void busy() {
    Watched w = CURRENT.get();
    if (w != null) {
      w.enter(Watched.BUSY);
    }
  }

  /** The current request's thread reads or writes its socket again: the idle timeout counts from now. */
  static void io() {
    Watched w = CURRENT.get();
    if (w != null) {
      w.enter(Watched.IO);
    }
  }

  /** Stops at once: running requests are interrupted, queued ones dropped. */
  @Override
  public void close() {
    watchdog.shutdownNow();
    pool.shutdownNow();
  }

  private void interruptStalled() {
    long now = System.nanoTime();
    long limit = idleTimeout.toNanos();
    for (Watched w : running) {
      w.interruptIfStalled(now, limit);
    }
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** One request on its thread; its phase and when the phase began, under its own lock. */
  private final class Watched implements Runnable {
    static final int IO = 0;
    static final int BUSY = 1;
    static final int DONE = 2;

    private final Runnable exchange;
    private Thread thread;
    private int phase;
    private long since;

    Watched(Runnable exchange) {
      this.exchange = exchange;
    }

    @Override
    public void run() {
      synchronized (this) {
        thread = Thread.currentThread();
        phase = IO;
        since = System.nanoTime();
      }
      running.add(this);
      CURRENT.set(this);
      try {
        exchange.run();
      } finally {
        CURRENT.remove();
        running.remove(this);
        synchronized (this) {
          phase = DONE;
          thread = null;
        }
        Thread.interrupted(); // a watchdog's interrupt is for this request only, never for the thread's next one
      }
    }

    synchronized void enter(int newPhase) {
      if (phase != DONE) {
        phase = newPhase;
        since = System.nanoTime();
      }
    }

    synchronized void interruptIfStalled(long now, long limit) {
      if (phase == IO && now - since > limit) {
        phase = DONE;
        thread.interrupt();
      }
    }
  }

  /**
   * A queue that takes a request only when an idle thread takes it at once, so that the pool starts a thread
   * rather than queueing; at the pool's maximum the rejection handler queues it for good ({@link #enqueue}).
   */
  private static final class HandOffQueue extends LinkedTransferQueue<Runnable> {
    @Override
    public boolean offer(Runnable r) {
      return tryTransfer(r);
    }

    boolean enqueue(Runnable r) {
      return super.offer(r);
    }
  }
}
