package dev.concord.core;

import java.util.concurrent.CompletableFuture;

/**
 * How a client reaches the server: {@link HttpTransport} (REST, the default) or the gRPC transport
 * of the {@code concord-sdk-grpc} artifact. The client keeps the rest: credentials, headers,
 * idempotency keys, timeouts, retries and typed errors.
 *
 * <p>A failed attempt completes with {@link dev.concord.errors.ApiException} when the server
 * answered an error, or {@link dev.concord.errors.ConnectionException} when no answer came.
 */
public interface Transport extends AutoCloseable {
  /** Sends one attempt of a unary call. */
  CompletableFuture<WireResponse> send(WireCall call);

  /** Opens a server stream (blocking until it is open or refused). */
  MessageStream open(WireCall call);

  /** Releases the transport's connections. */
  @Override
  void close();
}
