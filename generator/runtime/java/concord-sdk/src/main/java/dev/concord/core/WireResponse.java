package dev.concord.core;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A successful answer of a {@link Transport}.
 *
 * @param statusCode the HTTP status (200 over gRPC)
 * @param headers the response headers (over gRPC, headers and trailers), names in lower case
 * @param body the answer's contract JSON
 */
public record WireResponse(int statusCode, Map<String, List<String>> headers, JsonNode body) {

  /** The first value of a header, case-insensitively. */
  public Optional<String> header(String name) {
    List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
    return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.get(0));
  }
}
