package dev.concord.errors;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;

/**
 * What the server said about a failed call: the catalogue code, the HTTP status (over gRPC, the
 * status the code maps to), the message, the details, the request id and the response headers (over
 * gRPC, the trailing metadata).
 *
 * @param statusCode the HTTP status
 * @param code the catalogue code
 * @param message the server's message
 * @param details the error's details (an empty object when none)
 * @param requestId the request id ("" when unknown)
 * @param headers the response headers, names in lower case
 */
public record ApiErrorInfo(
    int statusCode,
    ErrorCode code,
    String message,
    ObjectNode details,
    String requestId,
    Map<String, List<String>> headers) {}
