package dev.concord;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/** An HTTP server on a free loopback port that answers from a script and records requests. */
final class FakeServer implements AutoCloseable {
  /** One recorded request. */
  record Request(String method, String uri, Map<String, List<String>> headers, String body) {
    String header(String name) {
      List<String> values = headers.get(name);
      return values == null ? null : values.get(0);
    }
  }

  /** What the server answers one request with. */
  @FunctionalInterface
  interface Answer {
    void answer(HttpExchange exchange) throws IOException;
  }

  private final HttpServer server;
  private final ConcurrentLinkedQueue<Answer> script = new ConcurrentLinkedQueue<>();
  final List<Request> requests = new CopyOnWriteArrayList<>();

  FakeServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(Executors.newCachedThreadPool());
    server.createContext("/", this::handle);
    server.start();
  }

  /** The base URL of the server. */
  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** A client of this server without retry delays worth waiting for. */
  ConcordClient client(int maxRetries) {
    return ConcordClient.builder()
        .baseUrl(url())
        .apiKey("secret-key")
        .maxRetries(maxRetries)
        .retryBackoff(Duration.ofMillis(1), Duration.ofMillis(5))
        .build();
  }

  /** Queues answers, used in order; a request past the script gets a 500. */
  FakeServer then(Answer... answers) {
    script.addAll(List.of(answers));
    return this;
  }

  static Answer json(int status, String body, String... headers) {
    return exchange -> {
      for (int i = 0; i + 1 < headers.length; i += 2) {
        exchange.getResponseHeaders().add(headers[i], headers[i + 1]);
      }
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    };
  }

  static Answer error(int status, String code, String... headers) {
    return json(
        status,
        "{\"code\":\""
            + code
            + "\",\"message\":\"m\",\"details\":{\"k\":1},\"request_id\":\"req_1\"}",
        headers);
  }

  static Answer sse(String text) {
    return exchange -> {
      exchange.getResponseHeaders().add("Content-Type", "text/event-stream");
      exchange.sendResponseHeaders(200, 0);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(text.getBytes(StandardCharsets.UTF_8));
      }
    };
  }

  private void handle(HttpExchange exchange) throws IOException {
    String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    requests.add(
        new Request(
            exchange.getRequestMethod(),
            exchange.getRequestURI().toString(),
            Map.copyOf(exchange.getRequestHeaders()),
            body));
    Answer next = script.poll();
    (next != null ? next : error(500, "INTERNAL")).answer(exchange);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
