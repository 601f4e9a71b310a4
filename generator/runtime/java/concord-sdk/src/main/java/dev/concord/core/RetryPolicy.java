package dev.concord.core;

import dev.concord.errors.ApiException;
import dev.concord.errors.ConnectionException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * When a failed attempt is retried, and after how long: connection errors (timeouts included), 408,
 * 429 and 5xx answers (not 501 or 505) are retried; the delay is {@code Retry-After} when the
 * server sends one (up to 60 s), else exponential backoff with up to 25% of jitter.
 */
public final class RetryPolicy {
  /** The longest Retry-After honoured; a longer one falls back to the backoff. */
  public static final Duration MAX_RETRY_AFTER = Duration.ofSeconds(60);

  private final Duration initialBackoff;
  private final Duration maxBackoff;

  /** A policy with these backoff bounds. */
  public RetryPolicy(Duration initialBackoff, Duration maxBackoff) {
    this.initialBackoff = initialBackoff;
    this.maxBackoff = maxBackoff;
  }

  /** Whether a failure may be retried at all (the caller checks the count and the key). */
  public static boolean isRetryable(Throwable failure) {
    if (failure instanceof ConnectionException) {
      return true;
    }
    if (failure instanceof ApiException) {
      return isRetryableStatus(((ApiException) failure).statusCode());
    }
    return false;
  }

  /** 408, 429 and 5xx but 501 and 505. */
  public static boolean isRetryableStatus(int status) {
    if (status == 408 || status == 429) {
      return true;
    }
    return status >= 500 && status != 501 && status != 505;
  }

  /** The delay before retry number {@code attempt + 1} after {@code failure}. */
  public Duration delay(int attempt, Throwable failure, Instant now) {
    if (failure instanceof ApiException) {
      Optional<Duration> asked =
          ((ApiException) failure).header("retry-after").flatMap(v -> retryAfter(v, now));
      if (asked.isPresent()) {
        return asked.get();
      }
    }
    return backoff(attempt);
  }

  /** initial·2^attempt, capped at the maximum, less up to 25% of jitter. */
  public Duration backoff(int attempt) {
    long cap = maxBackoff.toNanos();
    long delay = cap;
    if (attempt < 30) {
      long next = initialBackoff.toNanos() << attempt;
      if (next > 0 && next < cap) {
        delay = next;
      }
    }
    double jitter = 1 - 0.25 * ThreadLocalRandom.current().nextDouble();
    return Duration.ofNanos((long) (delay * jitter));
  }

  /** A Retry-After value: delay seconds (fractions accepted) or an HTTP date; empty if unusable. */
  public static Optional<Duration> retryAfter(String value, Instant now) {
    String text = value.trim();
    if (text.isEmpty()) {
      return Optional.empty();
    }
    Duration delay;
    try {
      double seconds = Double.parseDouble(text);
      if (Double.isNaN(seconds) || Double.isInfinite(seconds)) {
        return Optional.empty();
      }
      delay = Duration.ofNanos((long) (seconds * 1e9));
    } catch (NumberFormatException e) {
      try {
        Instant at = ZonedDateTime.parse(text, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        delay = at.isAfter(now) ? Duration.between(now, at) : Duration.ZERO;
      } catch (DateTimeParseException e2) {
        return Optional.empty();
      }
    }
    if (delay.isNegative() || delay.compareTo(MAX_RETRY_AFTER) > 0) {
      return Optional.empty();
    }
    return Optional.of(delay);
  }
}
