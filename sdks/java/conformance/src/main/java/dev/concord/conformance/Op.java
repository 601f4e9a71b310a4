package dev.concord.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import dev.concord.ConcordClient;
import dev.concord.core.RequestOptions;

/** One operation of the op table: contract JSON in, the answer's contract JSON out. */
@FunctionalInterface
interface Op {
  /**
   * Calls the SDK with the call's input and per-call options; a stream op collects messages per
   * {@code stream}.
   */
  JsonNode call(ConcordClient client, JsonNode input, StreamSpec stream, RequestOptions options);
}
