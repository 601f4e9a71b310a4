package dev.concord.core;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

/**
 * The contract's text forms of {@code google.protobuf.Timestamp} (RFC 3339 in UTC) and {@code
 * google.protobuf.Duration} (seconds with an {@code s}, e.g. {@code "30s"}, {@code "0.250s"}).
 */
public final class ProtoTime {
  private static final DateTimeFormatter SECONDS =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss").withZone(ZoneOffset.UTC);

  private ProtoTime() {}

  /** {@code 2026-11-23T10:00:00.123Z}: 0, 3, 6 or 9 fraction digits, as protobuf prints them. */
  public static String formatTimestamp(Instant instant) {
    return SECONDS.format(instant) + fraction(instant.getNano()) + "Z";
  }

  /** Reads an RFC 3339 timestamp with any offset. */
  public static Instant parseTimestamp(String text) {
    try {
      return OffsetDateTime.parse(text).toInstant();
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("not an RFC 3339 timestamp: " + text, e);
    }
  }

  /** {@code "30s"}, {@code "0.250s"}, {@code "-1.5s"}; a zero duration is {@code "0s"}. */
  public static String formatDuration(Duration duration) {
    long seconds = duration.getSeconds();
    int nanos = duration.getNano();
    String sign = "";
    if (seconds < 0 && nanos > 0) {
      seconds += 1;
      nanos = 1_000_000_000 - nanos;
      sign = seconds == 0 ? "-" : "";
    }
    return sign + seconds + fraction(nanos) + "s";
  }

  /** Reads {@code "1.5s"} (the contract form); throws IllegalArgumentException otherwise. */
  public static Duration parseDuration(String text) {
    if (!text.endsWith("s")) {
      throw new IllegalArgumentException("not a duration (like \"1.5s\"): " + text);
    }
    try {
      BigDecimal seconds = new BigDecimal(text.substring(0, text.length() - 1));
      BigDecimal whole = new BigDecimal(seconds.toBigInteger());
      long nanos = seconds.subtract(whole).movePointRight(9).longValueExact();
      return Duration.ofSeconds(whole.longValueExact(), nanos);
    } catch (ArithmeticException | NumberFormatException e) {
      throw new IllegalArgumentException("not a duration (like \"1.5s\"): " + text, e);
    }
  }

  private static String fraction(int nanos) {
    if (nanos == 0) {
      return "";
    }
    if (nanos % 1_000_000 == 0) {
      return String.format(".%03d", nanos / 1_000_000);
    }
    if (nanos % 1_000 == 0) {
      return String.format(".%06d", nanos / 1_000);
    }
    return String.format(".%09d", nanos);
  }
}
