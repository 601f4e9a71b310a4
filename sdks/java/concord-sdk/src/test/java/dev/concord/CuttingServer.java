package dev.concord;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A raw HTTP/1.1 server on a loopback port for Server-Sent Events: each connection gets the next
 * scripted reply, which may end its chunked body properly or break the connection in the middle of
 * it (no last chunk), as a dropped connection does. It records each request's head, and "closed"
 * events when a client drops a connection it held open.
 */
final class CuttingServer implements AutoCloseable {
  /** What the server does with one connection after reading its request. */
  @FunctionalInterface
  interface Reply {
    void reply(CuttingServer server, InputStream in, OutputStream out) throws IOException;
  }

  final List<String> requests = new CopyOnWriteArrayList<>();
  final BlockingQueue<String> events = new LinkedBlockingQueue<>();
  private final ConcurrentLinkedQueue<Reply> script = new ConcurrentLinkedQueue<>();
  private final ServerSocket socket;

  CuttingServer() throws IOException {
    socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::accept, "cutting-server");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** A client of this server whose retries wait {@code backoff}. */
  ConcordClient client(int maxRetries, Duration backoff) {
    return ConcordClient.builder()
        .baseUrl("http://127.0.0.1:" + socket.getLocalPort())
        .apiKey("secret-key")
        .maxRetries(maxRetries)
        .retryBackoff(backoff, backoff)
        .build();
  }

  /** A client of this server without retry delays worth waiting for. */
  ConcordClient client(int maxRetries) {
    return client(maxRetries, Duration.ofMillis(1));
  }

  /** Queues replies, one per connection in order; a connection past the script is dropped. */
  CuttingServer then(Reply... replies) {
    script.addAll(List.of(replies));
    return this;
  }

  /** The value of header {@code name} in request {@code index}; null when absent. */
  String header(int index, String name) {
    String prefix = name.toLowerCase(Locale.ROOT) + ":";
    for (String line : requests.get(index).split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith(prefix)) {
        return line.substring(prefix.length()).trim();
      }
    }
    return null;
  }

  /** The request line of request {@code index}. */
  String requestLine(int index) {
    return requests.get(index).split("\r\n")[0];
  }

  /** Sends {@code text} as an SSE body and ends it properly. */
  static Reply frames(String text) {
    return (server, in, out) -> {
      head(out, 200, "text/event-stream");
      chunk(out, text);
      out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
    };
  }

  /** Sends {@code text}, then waits for {@code gate} and breaks the connection mid-body. */
  static Reply cut(String text, CountDownLatch gate) {
    return (server, in, out) -> {
      head(out, 200, "text/event-stream");
      chunk(out, text);
      await(gate);
    };
  }

  /** Sends {@code text}, then holds the connection until the client drops it. */
  static Reply hold(String text) {
    return (server, in, out) -> {
      head(out, 200, "text/event-stream");
      chunk(out, text);
      server.drain(in);
    };
  }

  /** Answers nothing and holds the connection until the client drops it. */
  static Reply silent() {
    return (server, in, out) -> server.drain(in);
  }

  /** A catalogue error with extra {@code headers} (name, value, ...). */
  static Reply error(int status, String code, String... headers) {
    return (server, in, out) -> {
      String body = "{\"code\":\"" + code + "\",\"message\":\"m\",\"request_id\":\"req_1\"}";
      StringBuilder head = new StringBuilder("HTTP/1.1 " + status + " X\r\n");
      for (int i = 0; i + 1 < headers.length; i += 2) {
        head.append(headers[i]).append(": ").append(headers[i + 1]).append("\r\n");
      }
      head.append("Content-Type: application/json\r\nConnection: close\r\n");
      head.append("Content-Length: ").append(body.length()).append("\r\n\r\n").append(body);
      out.write(head.toString().getBytes(StandardCharsets.UTF_8));
      out.flush();
    };
  }

  private static void head(OutputStream out, int status, String type) throws IOException {
    String head =
        "HTTP/1.1 "
            + status
            + " OK\r\nContent-Type: "
            + type
            + "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    out.write(head.getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  private static void chunk(OutputStream out, String text) throws IOException {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    if (bytes.length > 0) {
      out.write((Integer.toHexString(bytes.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(bytes);
      out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
    }
    out.flush();
  }

  private static void await(CountDownLatch gate) throws IOException {
    try {
      if (!gate.await(60, TimeUnit.SECONDS)) {
        throw new IOException("the test never opened the gate");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  private void drain(InputStream in) throws IOException {
    while (in.read() >= 0) {
      // The client sends nothing more; read until it drops the connection.
    }
    events.add("closed");
  }

  private void accept() {
    while (!socket.isClosed()) {
      try {
        Socket connection = socket.accept();
        Thread serve = new Thread(() -> serve(connection), "cutting-connection");
        serve.setDaemon(true);
        serve.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket connection) {
    try (connection;
        InputStream in = connection.getInputStream();
        OutputStream out = connection.getOutputStream()) {
      StringBuilder head = new StringBuilder();
      int b;
      while (!head.toString().endsWith("\r\n\r\n") && (b = in.read()) >= 0) {
        head.append((char) b);
      }
      requests.add(head.toString());
      Reply next = script.poll();
      if (next != null) {
        next.reply(this, in, out);
      }
    } catch (IOException e) {
      events.add("closed");
    }
  }

  /** The next event, waiting generously for a loaded machine. */
  String next() throws InterruptedException {
    String event = events.poll(60, TimeUnit.SECONDS);
    if (event == null) {
      throw new AssertionError("the server saw nothing within 60 s");
    }
    return event;
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
