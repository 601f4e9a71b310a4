package dev.concord.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import dev.concord.ConcordAsyncClient;
import dev.concord.core.AsyncPage;
import dev.concord.core.JsonModel;
import dev.concord.core.RequestOptions;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The protocol's per-call {@code options} (docs/conformance.md): {@code headers}, {@code
 * idempotency_key}, {@code timeout_ms} and {@code max_retries} become the SDK's {@link
 * RequestOptions}; {@code cancel_after_ms} cancels the call's {@link CompletableFuture} on the
 * async client ({@code cancel(true)}, which aborts the request in flight).
 */
final class CallOptions {
  private static final ScheduledExecutorService CANCELLER =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "call-canceller");
            t.setDaemon(true);
            return t;
          });

  private CallOptions() {}

  /** The SDK's per-call options of the call's {@code options} (none when absent). */
  static RequestOptions requestOptions(JsonNode options) {
    if (options == null || !options.isObject()) {
      return RequestOptions.none();
    }
    RequestOptions.Builder builder = RequestOptions.builder();
    options
        .path("headers")
        .properties()
        .forEach(h -> builder.header(h.getKey(), h.getValue().asText()));
    if (options.hasNonNull("idempotency_key")) {
      builder.idempotencyKey(options.get("idempotency_key").asText());
    }
    if (options.hasNonNull("timeout_ms")) {
      builder.timeout(Duration.ofMillis(options.get("timeout_ms").asLong()));
    }
    if (options.hasNonNull("max_retries")) {
      builder.maxRetries(options.get("max_retries").asInt());
    }
    return builder.build();
  }

  /** The call's {@code cancel_after_ms}, when it has one. */
  static OptionalLong cancelAfterMs(JsonNode options) {
    if (options == null || !options.hasNonNull("cancel_after_ms")) {
      return OptionalLong.empty();
    }
    return OptionalLong.of(options.get("cancel_after_ms").asLong());
  }

  /**
   * Runs a unary op on the async client and cancels its future after {@code afterMs}; the answer's
   * contract JSON, or the SDK's failure (a {@link java.util.concurrent.CancellationException} once
   * cancelled).
   */
  static JsonNode cancellable(
      AsyncOp op, ConcordAsyncClient client, JsonNode input, RequestOptions options, long afterMs) {
    CompletableFuture<?> future = op.call(client, input, options);
    ScheduledFuture<?> cancel =
        CANCELLER.schedule(() -> future.cancel(true), afterMs, TimeUnit.MILLISECONDS);
    try {
      return toJson(future.join());
    } catch (CompletionException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      if (cause instanceof RuntimeException) {
        throw (RuntimeException) cause;
      }
      throw e;
    } finally {
      cancel.cancel(false);
    }
  }

  /** The contract JSON of what an async call answered: a model, or a list call's page. */
  private static JsonNode toJson(Object answer) {
    Object value = answer instanceof AsyncPage ? ((AsyncPage<?, ?>) answer).response() : answer;
    if (value instanceof JsonModel) {
      return ((JsonModel) value).toJson();
    }
    throw new IllegalStateException("not a model: " + value);
  }
}
