package dev.concord.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import dev.concord.ConcordAsyncClient;
import dev.concord.core.RequestOptions;
import java.util.concurrent.CompletableFuture;

/** A unary operation on the async client: the SDK's own future, which the caller may cancel. */
@FunctionalInterface
interface AsyncOp {
  /** Starts the call with the call's input and per-call options. */
  CompletableFuture<?> call(ConcordAsyncClient client, JsonNode input, RequestOptions options);
}
