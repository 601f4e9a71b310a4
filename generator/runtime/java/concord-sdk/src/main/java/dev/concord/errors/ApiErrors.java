package dev.concord.errors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.concord.core.Json;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Turns what a transport received into the typed exception of its catalogue code. */
public final class ApiErrors {
  private ApiErrors() {}

  /**
   * The exception of an error answer: its {@code concord.v1.Error} body ({@code code}, {@code
   * message}, {@code details}, {@code request_id}; other members are ignored), else the code of the
   * HTTP status.
   */
  public static ApiException fromAnswer(
      int statusCode, Map<String, List<String>> headers, JsonNode body) {
    String code = Json.string(body, "code");
    ErrorCode errorCode = code.isEmpty() ? ErrorCode.forHttpStatus(statusCode) : ErrorCode.of(code);
    String message = Json.string(body, "message");
    if (message.isEmpty()) {
      message = "HTTP " + statusCode;
    }
    ObjectNode details = Json.struct(body, "details");
    String requestId = Json.string(body, "request_id");
    if (requestId.isEmpty()) {
      List<String> ids = headers.get("x-request-id");
      requestId = ids == null || ids.isEmpty() ? "" : ids.get(0);
    }
    return create(
        new ApiErrorInfo(
            statusCode,
            errorCode,
            message,
            details == null ? Json.object() : details,
            requestId,
            headers));
  }

  /** The typed exception of an error's code (an {@link ApiException} for unknown codes). */
  public static ApiException create(ApiErrorInfo info) {
    return ApiExceptions.of(info);
  }

  /** Header names in lower case, the way {@link ApiException#header(String)} looks them up. */
  public static String headerKey(String name) {
    return name.toLowerCase(Locale.ROOT);
  }
}
