package dev.concord.core;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One attempt of a call as a {@link Transport} sees it.
 *
 * @param operation the RPC
 * @param pathParams the path parameters by field name
 * @param params the other request fields as contract JSON
 * @param headers credentials, Idempotency-Key and the client's and call's headers
 * @param timeout the attempt's time limit (for a stream, until it opens); null for none
 */
public record WireCall(
    Operation operation,
    Map<String, String> pathParams,
    ObjectNode params,
    Map<String, List<String>> headers,
    Duration timeout) {

  /** The whole request message as contract JSON: the params plus the path parameters. */
  public ObjectNode request() {
    ObjectNode request = params.deepCopy();
    pathParams.forEach(request::put);
    return request;
  }

  /** This call with header {@code name} set to {@code value} (replacing any of that name). */
  public WireCall withHeader(String name, String value) {
    Map<String, List<String>> next = new LinkedHashMap<>();
    headers.forEach(
        (key, values) -> {
          if (!key.equalsIgnoreCase(name)) {
            next.put(key, values);
          }
        });
    next.put(name, List.of(value));
    return new WireCall(operation, pathParams, params, next, timeout);
  }
}
