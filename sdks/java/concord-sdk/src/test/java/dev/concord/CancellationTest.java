package dev.concord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.concord.core.RequestOptions;
import dev.concord.errors.ConcordException;
import dev.concord.models.AcquireLockParams;
import dev.concord.models.AcquireLockResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Cancelling a call aborts its HTTP request: the server sees the connection close. */
class CancellationTest {
  private static final AcquireLockParams PARAMS =
      AcquireLockParams.builder().owner("o").ttl(Duration.ofSeconds(30)).build();

  /**
   * A server that reads each request and never answers; it reports every request's headers, then
   * "closed" when the client drops the connection.
   */
  private static final class SilentServer implements AutoCloseable {
    final BlockingQueue<String> events = new LinkedBlockingQueue<>();
    private final ServerSocket socket;

    SilentServer() throws IOException {
      socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      Thread acceptor = new Thread(this::accept, "silent-server");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    String url() {
      return "http://127.0.0.1:" + socket.getLocalPort();
    }

    ConcordClient client() {
      return ConcordClient.builder()
          .baseUrl(url())
          .apiKey("k")
          .maxRetries(2)
          .timeout(Duration.ofMinutes(5))
          .build();
    }

    private void accept() {
      while (!socket.isClosed()) {
        try {
          Socket connection = socket.accept();
          Thread reader = new Thread(() -> read(connection), "silent-connection");
          reader.setDaemon(true);
          reader.start();
        } catch (IOException e) {
          return;
        }
      }
    }

    private void read(Socket connection) {
      try (connection;
          InputStream in = connection.getInputStream()) {
        StringBuilder head = new StringBuilder();
        int b;
        while ((b = in.read()) >= 0) {
          head.append((char) b);
          if (head.toString().endsWith("\r\n\r\n")) {
            events.add(head.toString());
            head.setLength(0);
          }
        }
        events.add("closed");
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

  @Test
  void cancellingTheAsyncFutureAbortsTheRequest() throws Exception {
    try (SilentServer server = new SilentServer();
        ConcordClient client = server.client()) {
      CompletableFuture<AcquireLockResponse> call =
          client
              .async()
              .locks()
              .acquire("a", PARAMS, RequestOptions.builder().header("X-Trace", "t1").build());
      String request = server.next();
      assertTrue(request.startsWith("POST /v1/locks/a:acquire"), request);
      assertTrue(request.toLowerCase(java.util.Locale.ROOT).contains("x-trace: t1"), request);
      assertTrue(call.cancel(true));
      assertEquals("closed", server.next());
      assertThrows(CancellationException.class, call::join);
      assertTrue(server.events.isEmpty(), "no retry after the cancellation: " + server.events);
    }
  }

  @Test
  void interruptingASyncCallAbortsTheRequest() throws Exception {
    try (SilentServer server = new SilentServer();
        ConcordClient client = server.client()) {
      AtomicReference<Throwable> thrown = new AtomicReference<>();
      Thread caller =
          new Thread(
              () -> {
                try {
                  client.locks().acquire("a", PARAMS);
                } catch (RuntimeException e) {
                  thrown.set(e);
                }
              });
      caller.start();
      assertTrue(server.next().startsWith("POST /v1/locks/a:acquire"));
      caller.interrupt();
      assertEquals("closed", server.next());
      caller.join(TimeUnit.SECONDS.toMillis(60));
      assertTrue(thrown.get() instanceof ConcordException, String.valueOf(thrown.get()));
      assertTrue(thrown.get().getCause() instanceof InterruptedException);
      assertTrue(server.events.isEmpty(), "no retry after the interrupt: " + server.events);
    }
  }

  @Test
  void cancellingAnAsyncStreamOpeningAbortsIt() throws Exception {
    try (SilentServer server = new SilentServer();
        ConcordClient client = server.client()) {
      var opening = client.async().locks().watch();
      String request = server.next();
      assertTrue(request.startsWith("GET /v1/locks:watch"), request);
      assertTrue(opening.cancel(true));
      assertEquals("closed", server.next());
      assertThrows(CancellationException.class, opening::join);
    }
  }

  @Test
  void thePerCallTimeoutAbortsTheRequest() throws Exception {
    try (SilentServer server = new SilentServer();
        ConcordClient client = server.client()) {
      RequestOptions quick =
          RequestOptions.builder().timeout(Duration.ofMillis(300)).maxRetries(0).build();
      dev.concord.errors.ConnectionException e =
          assertThrows(
              dev.concord.errors.ConnectionException.class, () -> client.health().live(quick));
      assertTrue(e.isTimeout());
      assertTrue(server.next().startsWith("GET /v1/health/live"));
      assertEquals("closed", server.next());
    }
  }
}
