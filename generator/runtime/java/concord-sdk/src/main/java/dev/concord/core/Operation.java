package dev.concord.core;

import java.util.List;

/**
 * One RPC of the contract as the generated resources describe it to the transports.
 *
 * @param service the contract's service, e.g. {@code concord.v1.LockService}
 * @param rpc the RPC name, e.g. {@code AcquireLock}
 * @param httpMethod the REST verb
 * @param pathTemplate the REST path with {@code {field}} placeholders
 * @param queryParams the request fields sent in the query string, dotted for sub-fields
 * @param body what the JSON body holds: {@code "*"} every params field, a field name that field's
 *     value, {@code ""} no body
 * @param idempotent whether the RPC may be retried without an idempotency key
 */
public record Operation(
    String service,
    String rpc,
    String httpMethod,
    String pathTemplate,
    List<String> queryParams,
    String body,
    boolean idempotent) {

  /** True when the call sends a JSON body. */
  public boolean hasBody() {
    return !body.isEmpty();
  }
}
