package dev.concord.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.concord.ConcordClient;
import dev.concord.core.Json;
import dev.concord.core.RequestOptions;
import dev.concord.errors.ApiException;
import dev.concord.errors.ConnectionException;
import dev.concord.errors.CrossOriginRedirectException;
import dev.concord.grpc.GrpcTransport;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The Java SDK's adapter for the conformance runner (docs/conformance.md): NDJSON calls on stdin,
 * one answer line per call on stdout, logs on stderr. The op table ({@link Ops}) is generated from
 * the contract; this file holds the loop, the clients and the error mapping. A call's {@code
 * options} go to the SDK as {@link RequestOptions} ({@link CallOptions}); one with {@code
 * cancel_after_ms} runs on the async client and its future is cancelled. With {@code --grpc} every
 * client uses the gRPC transport ({@code client_config.grpc_target}).
 */
public final class Adapter {
  private static final Map<String, Op> OPS = Helpers.addTo(Ops.all());
  private static final Map<String, AsyncOp> ASYNC_OPS = Ops.async();

  private final boolean grpc;
  private final PrintStream out;
  private final Map<String, ConcordClient> clients = new ConcurrentHashMap<>();
  private final ExecutorService calls = Executors.newCachedThreadPool();

  private Adapter(boolean grpc, PrintStream out) {
    this.grpc = grpc;
    this.out = out;
  }

  /** Runs the adapter until {@code shutdown} or the end of stdin. */
  public static void main(String[] args) throws IOException, InterruptedException {
    boolean grpc = args.length > 0 && args[0].equals("--grpc");
    PrintStream stdout = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    System.setOut(System.err);
    Adapter adapter = new Adapter(grpc, stdout);
    adapter.serve(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)));
  }

  private void serve(BufferedReader in) throws IOException, InterruptedException {
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode message;
      try {
        message = Json.parse(line);
      } catch (IllegalArgumentException e) {
        System.err.println("unreadable line: " + e.getMessage());
        continue;
      }
      String type = message.path("type").asText();
      if (type.equals("shutdown")) {
        break;
      }
      if (type.equals("call")) {
        calls.execute(() -> write(handle(message)));
      } else {
        System.err.println("unknown message type " + type);
      }
    }
    calls.shutdown();
    calls.awaitTermination(5, TimeUnit.MINUTES);
    clients.values().forEach(ConcordClient::close);
  }

  private synchronized void write(ObjectNode answer) {
    out.println(Json.write(answer));
    out.flush();
  }

  private ObjectNode handle(JsonNode call) {
    String id = call.path("id").asText();
    Op op = OPS.get(call.path("op").asText());
    if (op == null) {
      return adapterError(id, "unknown op " + call.path("op").asText());
    }
    try {
      ConcordClient client = client(call.path("client").asText(), call.path("client_config"));
      JsonNode input = call.path("input").isObject() ? call.get("input") : Json.object();
      JsonNode options = call.get("options");
      RequestOptions requestOptions = CallOptions.requestOptions(options);
      OptionalLong cancelAfter = CallOptions.cancelAfterMs(options);
      AsyncOp async = ASYNC_OPS.get(call.path("op").asText());
      JsonNode result;
      if (cancelAfter.isPresent() && async != null) {
        result =
            CallOptions.cancellable(
                async, client.async(), input, requestOptions, cancelAfter.getAsLong());
      } else {
        StreamSpec stream =
            new StreamSpec(call.get("stream"), cancelAfter, () -> write(notice(id)));
        result = op.call(client, input, stream, requestOptions);
      }
      ObjectNode answer = answer(id, "ok");
      answer.set("result", result);
      return answer;
    } catch (ApiException e) {
      return apiError(id, e);
    } catch (CrossOriginRedirectException e) {
      return clientError(id, "cross_origin_redirect", e);
    } catch (ConnectionException e) {
      return clientError(id, e.isTimeout() ? "timeout" : "connection", e);
    } catch (CancellationException e) {
      return clientError(id, "cancelled", e);
    } catch (RuntimeException e) {
      return adapterError(id, e.toString());
    }
  }

  /** The SDK client of a named client and its configuration, made once. */
  private ConcordClient client(String name, JsonNode config) {
    String key = name + "\n" + Json.write(config);
    return clients.computeIfAbsent(key, k -> newClient(config));
  }

  private ConcordClient newClient(JsonNode config) {
    ConcordClient.Builder builder =
        ConcordClient.builder()
            .baseUrl(config.path("base_url").asText())
            .apiKey(config.path("api_key").asText(""))
            .bearerToken(config.path("bearer_token").asText(""));
    if (config.hasNonNull("max_retries")) {
      builder.maxRetries(config.get("max_retries").asInt());
    }
    if (config.path("timeout_ms").asLong(0) > 0) {
      builder.timeout(Duration.ofMillis(config.get("timeout_ms").asLong()));
    }
    config
        .path("headers")
        .properties()
        .forEach(h -> builder.header(h.getKey(), h.getValue().asText()));
    if (grpc) {
      builder.transport(GrpcTransport.forTarget(config.path("grpc_target").asText()));
    }
    return builder.build();
  }

  private static ObjectNode answer(String id, String outcome) {
    ObjectNode answer = Json.object();
    answer.put("id", id);
    answer.put("outcome", outcome);
    return answer;
  }

  /** The notice that the call's stream is open (the runner then goes on with the case). */
  private static ObjectNode notice(String id) {
    ObjectNode notice = Json.object();
    notice.put("id", id);
    notice.put("notice", "stream_open");
    return notice;
  }

  private static ObjectNode apiError(String id, ApiException e) {
    ObjectNode error = Json.object();
    error.put("code", e.code().value());
    error.put("native_type", e.getClass().getSimpleName());
    error.put("http_status", e.statusCode());
    error.put("request_id", e.requestId());
    error.put("message", e.errorMessage());
    error.set("details", e.details());
    ObjectNode answer = answer(id, "api_error");
    answer.set("error", error);
    return answer;
  }

  /**
   * A non-catalogue SDK error the protocol names: a refused redirect, a call without answer (a
   * {@link ConnectionException}, a {@code timeout} when its attempt timed out), a cancelled call.
   */
  private static ObjectNode clientError(String id, String kind, RuntimeException e) {
    ObjectNode error = Json.object();
    error.put("kind", kind);
    error.put("native_type", e.getClass().getSimpleName());
    error.put("message", e.getMessage());
    ObjectNode answer = answer(id, "client_error");
    answer.set("error", error);
    return answer;
  }

  private static ObjectNode adapterError(String id, String message) {
    ObjectNode answer = answer(id, "adapter_error");
    answer.put("message", message);
    return answer;
  }
}
