package dev.concord.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Per-call settings that override the client's: timeout, retries, idempotency key, headers.
 *
 * <pre>{@code
 * client.locks().acquire("report", params,
 *     RequestOptions.builder().timeout(Duration.ofSeconds(5)).idempotencyKey("job-42").build());
 * }</pre>
 */
public final class RequestOptions {
  private static final RequestOptions NONE = builder().build();
  private static final Pattern TRACEPARENT =
      Pattern.compile("[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-.*)?");

  private final Duration timeout;
  private final Integer maxRetries;
  private final String idempotencyKey;
  private final Map<String, List<String>> headers;

  private RequestOptions(Builder builder) {
    this.timeout = builder.timeout;
    this.maxRetries = builder.maxRetries;
    this.idempotencyKey = builder.idempotencyKey;
    Map<String, List<String>> copy = new LinkedHashMap<>();
    builder.headers.forEach((k, v) -> copy.put(k, List.copyOf(v)));
    this.headers = Collections.unmodifiableMap(copy);
  }

  /** Options that change nothing. */
  public static RequestOptions none() {
    return NONE;
  }

  /** A builder of per-call options. */
  public static Builder builder() {
    return new Builder();
  }

  /** The attempt timeout of this call, if set. */
  public Optional<Duration> timeout() {
    return Optional.ofNullable(timeout);
  }

  /** How many times this call is retried, if set. */
  public Optional<Integer> maxRetries() {
    return Optional.ofNullable(maxRetries);
  }

  /** The Idempotency-Key of this call, if set (otherwise the SDK makes one when needed). */
  public Optional<String> idempotencyKey() {
    return Optional.ofNullable(idempotencyKey);
  }

  /** Extra headers of this call. */
  public Map<String, List<String>> headers() {
    return headers;
  }

  /** The W3C {@code traceparent} this call sends, if set. */
  public Optional<String> traceparent() {
    List<String> values = headers.get("traceparent");
    return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.get(0));
  }

  /** Builds {@link RequestOptions}. */
  public static final class Builder {
    private Duration timeout;
    private Integer maxRetries;
    private String idempotencyKey;
    private final Map<String, List<String>> headers = new LinkedHashMap<>();

    private Builder() {}

    /** Bounds each attempt of this call (for a stream, until it opens). */
    public Builder timeout(Duration timeout) {
      if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
        throw new IllegalArgumentException("timeout must be positive: " + timeout);
      }
      this.timeout = timeout;
      return this;
    }

    /** How many times this call is retried (0 disables retries). */
    public Builder maxRetries(int maxRetries) {
      if (maxRetries < 0) {
        throw new IllegalArgumentException("maxRetries must not be negative: " + maxRetries);
      }
      this.maxRetries = maxRetries;
      return this;
    }

    /** The Idempotency-Key to send (1 to 200 visible ASCII characters), reused across retries. */
    public Builder idempotencyKey(String idempotencyKey) {
      this.idempotencyKey = Objects.requireNonNull(idempotencyKey, "idempotencyKey");
      return this;
    }

    /**
     * The W3C {@code traceparent} of the caller's span, sent so the server's spans join the
     * caller's trace (with OpenTelemetry, the value its W3C propagator injects for the current
     * span).
     */
    public Builder traceparent(String traceparent) {
      Objects.requireNonNull(traceparent, "traceparent");
      if (!TRACEPARENT.matcher(traceparent).matches()) {
        throw new IllegalArgumentException("not a W3C traceparent: " + traceparent);
      }
      headers.put("traceparent", new ArrayList<>(List.of(traceparent)));
      return this;
    }

    /** Adds a header value to this call. */
    public Builder header(String name, String value) {
      headers.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
      return this;
    }

    /** The options. */
    public RequestOptions build() {
      return new RequestOptions(this);
    }
  }
}
