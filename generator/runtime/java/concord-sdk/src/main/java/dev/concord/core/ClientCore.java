package dev.concord.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.concord.errors.ConcordException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * What the generated resources call: builds each call from its operation, params and options, sends
 * it through the transport, retries, and decodes the answer. One per client.
 */
public final class ClientCore implements AutoCloseable {
  private final ClientConfig config;
  private final Transport transport;
  private final RetryPolicy retries;
  private final ExecutorService streamOpener;

  /** The core of a client with these settings. */
  public ClientCore(ClientConfig config) {
    this.config = config;
    this.transport =
        config.transport() != null
            ? config.transport()
            : new HttpTransport(config.baseUrl(), config.httpClient(), config.userAgent());
    this.retries = new RetryPolicy(config.initialBackoff(), config.maxBackoff());
    this.streamOpener =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "concord-stream-open");
              t.setDaemon(true);
              return t;
            });
  }

  /** The client's settings. */
  public ClientConfig config() {
    return config;
  }

  /** Runs a unary call and decodes its answer, blocking until it is done. */
  public <T> T call(
      Operation op,
      Map<String, String> path,
      JsonModel params,
      RequestOptions options,
      Function<JsonNode, T> decode) {
    return decode.apply(await(execute(op, path, params, options)).body());
  }

  /** Like {@link #call}, with the status, headers and request id of the answer. */
  public <T> RawResponse<T> callRaw(
      Operation op,
      Map<String, String> path,
      JsonModel params,
      RequestOptions options,
      Function<JsonNode, T> decode) {
    WireResponse wire = await(execute(op, path, params, options));
    return new RawResponse<>(wire, decode.apply(wire.body()));
  }

  /**
   * Runs a unary call without blocking. Cancelling the future ({@code cancel(true)}) aborts the
   * attempt in flight and any retry still to come.
   */
  public <T> CompletableFuture<T> callAsync(
      Operation op,
      Map<String, String> path,
      JsonModel params,
      RequestOptions options,
      Function<JsonNode, T> decode) {
    try {
      return mapAsync(execute(op, path, params, options), wire -> decode.apply(wire.body()));
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** {@code source.thenApply(map)}, whose cancellation also cancels {@code source}. */
  public static <A, B> CompletableFuture<B> mapAsync(
      CompletableFuture<A> source, Function<? super A, ? extends B> map) {
    CompletableFuture<B> mapped = source.thenApply(map);
    cancelWith(mapped, source);
    return mapped;
  }

  /** Cancels {@code upstream} when {@code future} is cancelled. */
  private static void cancelWith(CompletableFuture<?> future, Future<?> upstream) {
    future.whenComplete(
        (value, failure) -> {
          if (future.isCancelled()) {
            upstream.cancel(true);
          }
        });
  }

  /**
   * Opens a server stream, blocking until the server accepted it (a refusal is thrown here).
   * Opening is retried like an idempotent call; the timeout bounds each opening attempt only. A
   * stream whose connection breaks after an id resumes from it ({@link ResumingStream}).
   */
  public <T> ServerStream<T> stream(
      Operation op,
      Map<String, String> path,
      JsonModel params,
      RequestOptions options,
      Function<JsonNode, T> decode) {
    WireCall call = prepare(op, path, params, options);
    int maxRetries = options.maxRetries().orElse(config.maxRetries());
    MessageStream opened = open(call, maxRetries);
    return new ServerStream<>(
        new ResumingStream(call, opened, transport, retries, maxRetries), decode);
  }

  /** The first opening of a stream, retried like an idempotent call. */
  private MessageStream open(WireCall call, int maxRetries) {
    Operation op = call.operation();
    for (int attempt = 0; ; attempt++) {
      log(Level.DEBUG, () -> "opening " + describe(call));
      try {
        return transport.open(call);
      } catch (ConcordException e) {
        if (attempt >= maxRetries || !RetryPolicy.isRetryable(e)) {
          throw e;
        }
        Duration delay = retries.delay(attempt, e, Instant.now());
        log(Level.INFO, () -> op.rpc() + ": reopening in " + delay.toMillis() + " ms: " + e);
        pause(delay);
      }
    }
  }

  private static void pause(Duration delay) {
    try {
      Thread.sleep(delay.toMillis(), delay.toNanosPart() % 1_000_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ConcordException("interrupted while waiting to retry", e);
    }
  }

  /**
   * Opens a server stream on a background thread. Cancelling the future interrupts the opening (a
   * stream that opens all the same is closed).
   */
  public <T> CompletableFuture<ServerStream<T>> streamAsync(
      Operation op,
      Map<String, String> path,
      JsonModel params,
      RequestOptions options,
      Function<JsonNode, T> decode) {
    CompletableFuture<ServerStream<T>> result = new CompletableFuture<>();
    Future<?> opening =
        streamOpener.submit(
            () -> {
              try {
                ServerStream<T> stream = stream(op, path, params, options, decode);
                if (!result.complete(stream)) {
                  stream.close();
                }
              } catch (RuntimeException | Error e) {
                result.completeExceptionally(e);
              }
            });
    cancelWith(result, opening);
    return result;
  }

  /**
   * Sends a unary call, retrying as the policy allows; the answer's raw form. Cancelling the future
   * cancels the attempt in flight (the transport aborts its request) and ends the retries.
   */
  public CompletableFuture<WireResponse> execute(
      Operation op, Map<String, String> path, JsonModel params, RequestOptions options) {
    WireCall call = prepare(op, path, params, options);
    int maxRetries = options.maxRetries().orElse(config.maxRetries());
    CompletableFuture<WireResponse> result = new CompletableFuture<>();
    attempt(call, 0, maxRetries, result);
    return result;
  }

  private void attempt(
      WireCall call, int attempt, int maxRetries, CompletableFuture<WireResponse> result) {
    if (result.isDone()) {
      return; // cancelled while waiting to retry
    }
    long start = System.nanoTime();
    log(Level.DEBUG, () -> "→ " + describe(call) + " (attempt " + (attempt + 1) + ")");
    CompletableFuture<WireResponse> sent;
    try {
      sent = transport.send(call);
    } catch (RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    cancelWith(result, sent);
    sent.whenComplete(
        (response, failure) -> {
          if (result.isDone()) {
            return;
          }
          long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
          if (failure == null) {
            log(Level.DEBUG, () -> "← " + call.operation().rpc() + " ok in " + ms + " ms");
            result.complete(response);
            return;
          }
          Throwable cause = unwrap(failure);
          if (attempt >= maxRetries || !RetryPolicy.isRetryable(cause)) {
            log(Level.DEBUG, () -> "← " + call.operation().rpc() + " failed: " + cause);
            result.completeExceptionally(cause);
            return;
          }
          Duration delay = retries.delay(attempt, cause, Instant.now());
          log(
              Level.INFO,
              () -> call.operation().rpc() + ": retrying in " + delay.toMillis() + " ms: " + cause);
          CompletableFuture.delayedExecutor(delay.toNanos(), TimeUnit.NANOSECONDS)
              .execute(() -> attempt(call, attempt + 1, maxRetries, result));
        });
  }

  /** The wire call: path checked, headers set, an Idempotency-Key made when the RPC needs one. */
  private WireCall prepare(
      Operation op, Map<String, String> path, JsonModel params, RequestOptions options) {
    for (Map.Entry<String, String> arg : path.entrySet()) {
      if (arg.getValue() == null || arg.getValue().isEmpty()) {
        throw new IllegalArgumentException(op.rpc() + ": " + arg.getKey() + " must not be empty");
      }
    }
    ObjectNode body = params == null ? Json.object() : params.toJson();
    Map<String, List<String>> headers = new LinkedHashMap<>();
    if (!config.bearerToken().isEmpty()) {
      headers.put("Authorization", List.of("Bearer " + config.bearerToken()));
    } else if (!config.apiKey().isEmpty()) {
      headers.put("X-API-Key", List.of(config.apiKey()));
    }
    String key = options.idempotencyKey().orElse(op.idempotent() ? null : newIdempotencyKey());
    if (key != null) {
      headers.put("Idempotency-Key", List.of(key));
    }
    config.headers().forEach((k, v) -> headers.put(k, new ArrayList<>(v)));
    options.headers().forEach((k, v) -> headers.put(k, new ArrayList<>(v)));
    Duration timeout = options.timeout().orElse(config.timeout());
    return new WireCall(op, Map.copyOf(path), body, headers, timeout);
  }

  /** A fresh Idempotency-Key (a random UUID). */
  public static String newIdempotencyKey() {
    return UUID.randomUUID().toString();
  }

  /** Waits for a future, throwing its failure as it is (unchecked). */
  public static <T> T await(CompletableFuture<T> future) {
    try {
      return future.get();
    } catch (ExecutionException e) {
      throw rethrow(e.getCause());
    } catch (InterruptedException e) {
      future.cancel(true);
      Thread.currentThread().interrupt();
      throw new ConcordException("interrupted while waiting for the call", e);
    }
  }

  private static RuntimeException rethrow(Throwable cause) {
    Throwable inner = unwrap(cause);
    if (inner instanceof RuntimeException) {
      return (RuntimeException) inner;
    }
    if (inner instanceof Error) {
      throw (Error) inner;
    }
    return new ConcordException(inner.toString(), inner);
  }

  private static Throwable unwrap(Throwable failure) {
    Throwable cause = failure;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }

  private static String describe(WireCall call) {
    Operation op = call.operation();
    return op.rpc()
        + " "
        + op.httpMethod()
        + " "
        + op.pathTemplate()
        + " "
        + Logging.redact(call.headers());
  }

  static void log(Level level, java.util.function.Supplier<String> message) {
    if (Logging.LOGGER.isLoggable(level)) {
      Logging.LOGGER.log(level, message.get());
    }
  }

  /** Closes the transport. */
  @Override
  public void close() {
    streamOpener.shutdownNow();
    transport.close();
  }
}
