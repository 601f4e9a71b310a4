package dev.concord.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.concord.errors.ApiErrors;
import dev.concord.errors.ConcordException;
import dev.concord.errors.ConnectionException;
import dev.concord.errors.CrossOriginRedirectException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * REST over {@link HttpClient}: JSON bodies, query strings, Server-Sent Events for streams. It
 * follows redirects itself, and only within the base URL's origin (an {@link HttpClient} given to
 * the builder should keep its default, {@code Redirect.NEVER}).
 */
public final class HttpTransport implements Transport {
  private static final int MAX_REDIRECTS = 5;

  private final URI baseUrl;
  private final HttpClient http;
  private final String userAgent;

  /** A transport to {@code baseUrl} over {@code http} (a new client when null). */
  public HttpTransport(URI baseUrl, HttpClient http, String userAgent) {
    this.baseUrl = baseUrl;
    this.http = http != null ? http : HttpClient.newBuilder().build();
    this.userAgent = userAgent;
  }

  /**
   * Sends one attempt; cancelling the future ({@code cancel(true)}) aborts the exchange in flight,
   * so the server sees the connection go.
   */
  @Override
  public CompletableFuture<WireResponse> send(WireCall call) {
    CompletableFuture<WireResponse> result = new CompletableFuture<>();
    exchange(call, request(call, uri(call), "application/json", true), 0, result);
    return result;
  }

  private void exchange(
      WireCall call, HttpRequest request, int hops, CompletableFuture<WireResponse> result) {
    CompletableFuture<HttpResponse<byte[]>> sent =
        http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray());
    result.whenComplete(
        (answer, failure) -> {
          if (result.isCancelled()) {
            sent.cancel(true);
          }
        });
    sent.whenComplete(
        (response, failure) -> {
          if (result.isDone()) {
            return;
          }
          try {
            if (failure != null) {
              throw connectionError(call, failure);
            }
            HttpRequest next = redirect(call, request, response, hops);
            if (next != null) {
              exchange(call, next, hops + 1, result);
            } else {
              result.complete(answer(call, response));
            }
          } catch (RuntimeException e) {
            result.completeExceptionally(e);
          }
        });
  }

  private static WireResponse answer(WireCall call, HttpResponse<byte[]> response) {
    Map<String, List<String>> headers = headers(response);
    JsonNode body = decode(response.body());
    if (response.statusCode() >= 300) {
      throw ApiErrors.fromAnswer(
          response.statusCode(), headers, body == null ? Json.object() : body);
    }
    if (body == null) {
      throw new ConcordException(
          call.operation().rpc() + ": the answer is not JSON (HTTP " + response.statusCode() + ")");
    }
    return new WireResponse(response.statusCode(), headers, body);
  }

  @Override
  public MessageStream open(WireCall call) {
    HttpRequest request = request(call, uri(call), "text/event-stream", true);
    for (int hops = 0; ; hops++) {
      HttpResponse<InputStream> response = openOnce(call, request);
      HttpRequest next = redirect(call, request, response, hops);
      if (next == null) {
        return stream(call, response);
      }
      closeQuietly(response.body());
      request = next;
    }
  }

  private HttpResponse<InputStream> openOnce(WireCall call, HttpRequest request) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    } catch (IOException e) {
      throw connectionError(call, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ConcordException(call.operation().rpc() + ": interrupted while opening", e);
    }
  }

  private static MessageStream stream(WireCall call, HttpResponse<InputStream> response) {
    if (response.statusCode() < 300) {
      return new SseStream(call.operation().rpc(), response.body());
    }
    byte[] body;
    try (InputStream in = response.body()) {
      body = in.readAllBytes();
    } catch (IOException e) {
      throw connectionError(call, e);
    }
    JsonNode error = decode(body);
    throw ApiErrors.fromAnswer(
        response.statusCode(), headers(response), error == null ? Json.object() : error);
  }

  /**
   * The request that follows a redirect to the same origin (307 and 308 keep the method and body,
   * the others become a GET); null when the answer is no redirect. A redirect to another origin is
   * refused, so the credential never leaves the configured origin.
   */
  private HttpRequest redirect(
      WireCall call, HttpRequest request, HttpResponse<?> response, int hops) {
    int status = response.statusCode();
    Optional<String> location = response.headers().firstValue("location");
    if (status < 300 || status > 308 || status == 304 || location.isEmpty()) {
      return null;
    }
    URI target = request.uri().resolve(location.get());
    if (!sameOrigin(baseUrl, target)) {
      throw new CrossOriginRedirectException(call.operation().rpc(), status, target.toString());
    }
    if (hops >= MAX_REDIRECTS) {
      throw new ConcordException(call.operation().rpc() + ": too many redirects");
    }
    boolean keep = status == 307 || status == 308;
    String accept = request.headers().firstValue("Accept").orElse("application/json");
    return request(call, target, accept, keep);
  }

  static boolean sameOrigin(URI a, URI b) {
    return a.getScheme().equalsIgnoreCase(b.getScheme())
        && a.getHost().equalsIgnoreCase(b.getHost())
        && port(a) == port(b);
  }

  private static int port(URI uri) {
    if (uri.getPort() >= 0) {
      return uri.getPort();
    }
    return "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
  }

  private static void closeQuietly(InputStream in) {
    try {
      in.close();
    } catch (IOException e) {
      // The redirect's body is not needed.
    }
  }

  @Override
  public void close() {
    // java.net.http.HttpClient of Java 17 has no close(); its threads end when unreferenced.
  }

  private HttpRequest request(WireCall call, URI uri, String accept, boolean withBody) {
    Operation op = call.operation();
    HttpRequest.Builder builder = HttpRequest.newBuilder(uri);
    if (call.timeout() != null) {
      builder.timeout(call.timeout());
    }
    builder.header("User-Agent", userAgent).header("Accept", accept);
    call.headers().forEach((name, values) -> values.forEach(v -> builder.header(name, v)));
    if (op.hasBody() && withBody) {
      JsonNode body = op.body().equals("*") ? call.params() : call.params().get(op.body());
      byte[] payload =
          Json.write(body == null ? NullNode.getInstance() : body).getBytes(StandardCharsets.UTF_8);
      builder.header("Content-Type", "application/json");
      builder.method(op.httpMethod(), HttpRequest.BodyPublishers.ofByteArray(payload));
    } else {
      builder.method(withBody ? op.httpMethod() : "GET", HttpRequest.BodyPublishers.noBody());
    }
    return builder.build();
  }

  private URI uri(WireCall call) {
    Operation op = call.operation();
    StringBuilder path = new StringBuilder();
    String template = op.pathTemplate();
    int at = 0;
    while (at < template.length()) {
      int open = template.indexOf('{', at);
      if (open < 0) {
        path.append(template, at, template.length());
        break;
      }
      int close = template.indexOf('}', open);
      path.append(template, at, open);
      path.append(encode(call.pathParams().get(template.substring(open + 1, close))));
      at = close + 1;
    }
    String query = query(op.queryParams(), call.params());
    return URI.create(baseUrl + path.toString() + query);
  }

  private static String query(List<String> names, ObjectNode params) {
    StringBuilder query = new StringBuilder();
    for (String name : names) {
      JsonNode value = params;
      for (String part : name.split("\\.")) {
        value = value == null ? null : value.get(part);
      }
      if (value == null || value.isNull()) {
        continue;
      }
      Iterator<JsonNode> items = value.isArray() ? value.elements() : List.of(value).iterator();
      while (items.hasNext()) {
        query.append(query.length() == 0 ? '?' : '&');
        query.append(encode(name)).append('=').append(encode(items.next().asText()));
      }
    }
    return query.toString();
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static Map<String, List<String>> headers(HttpResponse<?> response) {
    Map<String, List<String>> headers = new TreeMap<>();
    response.headers().map().forEach((k, v) -> headers.put(ApiErrors.headerKey(k), v));
    return headers;
  }

  /** The JSON of a body: an empty object for no body, null when it is not JSON. */
  private static JsonNode decode(byte[] body) {
    String text = new String(body, StandardCharsets.UTF_8).trim();
    if (text.isEmpty()) {
      return Json.object();
    }
    try {
      return Json.parse(text);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  static ConnectionException connectionError(WireCall call, Throwable failure) {
    Throwable cause =
        failure instanceof CompletionException && failure.getCause() != null
            ? failure.getCause()
            : failure;
    if (cause instanceof ConnectionException) {
      return (ConnectionException) cause;
    }
    if (cause instanceof UncheckedIOException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    boolean timeout = cause instanceof HttpTimeoutException;
    String what = timeout ? "request timed out after " + call.timeout() : cause.toString();
    return new ConnectionException(call.operation().rpc() + ": " + what, timeout, cause);
  }
}
