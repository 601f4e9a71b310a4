package dev.concord.core;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A decoded answer together with what came with it: status, headers (over gRPC, the metadata) and
 * the request id. Returned by the resources' {@code withRawResponse()} views.
 *
 * @param <T> the decoded answer
 */
public final class RawResponse<T> {
  private final WireResponse wire;
  private final T value;

  /** The raw answer and its decoded value. */
  public RawResponse(WireResponse wire, T value) {
    this.wire = wire;
    this.value = value;
  }

  /** The decoded answer. */
  public T value() {
    return value;
  }

  /** The HTTP status (200 over gRPC). */
  public int statusCode() {
    return wire.statusCode();
  }

  /** Every header, names in lower case. */
  public Map<String, List<String>> headers() {
    return wire.headers();
  }

  /** The first value of a header, case-insensitively. */
  public Optional<String> header(String name) {
    return wire.header(name.toLowerCase(Locale.ROOT));
  }

  /** The request id the server gave the call ({@code X-Request-ID}), "" when absent. */
  public String requestId() {
    return wire.header("x-request-id").orElse("");
  }

  /** True when the server replayed the stored answer of the call's Idempotency-Key. */
  public boolean isIdempotentReplay() {
    return wire.header("idempotent-replayed").map("true"::equalsIgnoreCase).orElse(false);
  }

  /** The answer's contract JSON as received. */
  public com.fasterxml.jackson.databind.JsonNode json() {
    return wire.body().deepCopy();
  }
}
