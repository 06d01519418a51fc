package io.pgamqp.http;

import io.pgamqp.broker.BridgeStatus;
import java.util.concurrent.CompletionStage;

/**
 * Where {@code GET /health/ready} gets the bridge's runtime facts (in the bridge: the broker registry, asked through
 * the actor system).
 *
 * <p>Threading: {@link #status()} is called on the HTTP endpoint's own threads and must not block: return a stage that
 * completes later. The endpoint waits at most {@code pgamqp.http.status-timeout} for it.
 */
@FunctionalInterface
public interface StatusSource {
  CompletionStage<BridgeStatus> status();
}
