package dev.concord.errors;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The server answered with an error of the catalogue. Each catalogue code has its own subclass
 * (e.g. {@link LockConflictException}); a code this SDK does not know yet comes as this class.
 */
public class ApiException extends ConcordException {
  private static final long serialVersionUID = 1L;

  private final transient ApiErrorInfo info;

  /** An API error from what the server said. */
  public ApiException(ApiErrorInfo info) {
    super(describe(info));
    this.info = info;
  }

  private static String describe(ApiErrorInfo info) {
    String id = info.requestId().isEmpty() ? "" : " (request " + info.requestId() + ")";
    return info.code().value() + " [" + info.statusCode() + "]: " + info.message() + id;
  }

  /** The HTTP status (over gRPC, the status of the catalogue code). */
  public int statusCode() {
    return info.statusCode();
  }

  /** The catalogue code, e.g. {@link ErrorCode#LOCK_CONFLICT}. */
  public ErrorCode code() {
    return info.code();
  }

  /** The server's message. */
  public String errorMessage() {
    return info.message();
  }

  /** The error's details (an empty object when the server gave none). */
  public ObjectNode details() {
    return info.details().deepCopy();
  }

  /** The request id the server gave the call ("" when unknown). */
  public String requestId() {
    return info.requestId();
  }

  /** The response headers (over gRPC, the trailing metadata), names in lower case. */
  public Map<String, List<String>> headers() {
    return info.headers();
  }

  /** The first value of a response header, case-insensitively. */
  public Optional<String> header(String name) {
    List<String> values = info.headers().get(name.toLowerCase(java.util.Locale.ROOT));
    return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.get(0));
  }

  /** Whether the catalogue marks the code retryable (the SDK retries these itself). */
  public boolean isRetryable() {
    return info.code().isRetryable();
  }
}
