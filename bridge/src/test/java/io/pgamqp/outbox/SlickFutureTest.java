package io.pgamqp.outbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import scala.concurrent.Promise;

/** How SlickDatabase hands Slick's results on: on the completing thread, without a thread per callback. */
class SlickFutureTest {

  @Test
  void callbacksRunOnTheThreadThatCompletedTheWork() throws Exception {
    Promise<String> promise = Promise.apply();
    CompletableFuture<String> f = SlickDatabase.completedFrom(promise.future());
    AtomicReference<String> ranOn = new AtomicReference<>();
    CompletableFuture<Integer> length = f.thenApply(s -> {
      ranOn.set(Thread.currentThread().getName());
      return s.length();
    });
    Thread slick = new Thread(() -> promise.success("claimed"), "slick-like-worker");
    slick.start();
    slick.join();
    assertEquals(7, length.get());
    // Scala's asJava ran this as an async task: on a 2-core machine, on a thread of its own made for it.
    assertEquals("slick-like-worker", ranOn.get());
  }

  @Test
  void failuresArriveAsTheWorkThrewThem() {
    Promise<String> promise = Promise.apply();
    CompletableFuture<String> f = SlickDatabase.completedFrom(promise.future());
    OutboxException cause = new OutboxException(new java.sql.SQLException("relation does not exist", "42P01"));
    promise.failure(cause);
    CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class, f::join);
    assertSame(cause, e.getCause());
    assertTrue(f.isCompletedExceptionally());
  }
}
