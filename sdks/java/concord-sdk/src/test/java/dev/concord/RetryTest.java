package dev.concord;

import static dev.concord.FakeServer.error;
import static dev.concord.FakeServer.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.concord.core.RequestOptions;
import dev.concord.core.RetryPolicy;
import dev.concord.errors.ConnectionException;
import dev.concord.errors.PermissionDeniedException;
import dev.concord.errors.RateLimitedException;
import dev.concord.errors.UnavailableException;
import dev.concord.models.AcquireLockParams;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RetryTest {
  private static final String LOCK = "{\"lock\":{\"name\":\"a\",\"fencing_token\":7}}";
  private static final AcquireLockParams PARAMS =
      AcquireLockParams.builder().owner("o").ttl(Duration.ofSeconds(30)).build();

  @Test
  void retriesServerErrorsThenSucceeds() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(3)) {
      server.then(error(503, "UNAVAILABLE"), error(500, "INTERNAL"), json(200, LOCK));
      long token = client.locks().acquire("a", PARAMS).lock().orElseThrow().fencingToken();
      assertEquals(7, token);
      assertEquals(3, server.requests.size());
    }
  }

  @Test
  void reusesTheIdempotencyKeyAcrossRetries() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(2)) {
      server.then(error(503, "UNAVAILABLE"), json(200, LOCK));
      client.locks().acquire("a", PARAMS);
      String first = server.requests.get(0).header("Idempotency-key");
      assertNotNull(first);
      assertEquals(first, server.requests.get(1).header("Idempotency-key"));
    }
  }

  @Test
  void sendsTheCallersIdempotencyKey() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(0)) {
      server.then(json(200, LOCK));
      client
          .locks()
          .acquire("a", PARAMS, RequestOptions.builder().idempotencyKey("job-42").build());
      assertEquals("job-42", server.requests.get(0).header("Idempotency-key"));
    }
  }

  @Test
  void idempotentCallsCarryNoKey() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(0)) {
      server.then(json(200, LOCK));
      client.locks().get("a");
      assertNull(server.requests.get(0).header("Idempotency-key"));
    }
  }

  @Test
  void stopsAfterMaxRetries() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(1)) {
      server.then(error(503, "UNAVAILABLE"), error(503, "UNAVAILABLE"), json(200, LOCK));
      UnavailableException e =
          assertThrows(UnavailableException.class, () -> client.locks().get("a"));
      assertEquals(503, e.statusCode());
      assertEquals(2, server.requests.size());
    }
  }

  @Test
  void perCallMaxRetriesWins() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(3)) {
      server.then(error(503, "UNAVAILABLE"), json(200, LOCK));
      RequestOptions once = RequestOptions.builder().maxRetries(0).build();
      assertThrows(UnavailableException.class, () -> client.locks().get("a", once));
      assertEquals(1, server.requests.size());
    }
  }

  @Test
  void doesNotRetryClientErrors() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(3)) {
      server.then(error(403, "PERMISSION_DENIED"), json(200, LOCK));
      assertThrows(PermissionDeniedException.class, () -> client.locks().get("a"));
      assertEquals(1, server.requests.size());
    }
  }

  @Test
  void honoursRetryAfterOnRateLimits() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(1)) {
      server.then(error(429, "RATE_LIMITED", "Retry-After", "0"), json(200, LOCK));
      assertEquals(7, client.locks().get("a").lock().orElseThrow().fencingToken());
      assertEquals(2, server.requests.size());
    }
  }

  @Test
  void retryAfterDecidesTheDelay() {
    RetryPolicy policy = new RetryPolicy(Duration.ofSeconds(1), Duration.ofSeconds(8));
    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    assertEquals(Optional.of(Duration.ofMillis(1500)), RetryPolicy.retryAfter("1.5", now));
    assertEquals(
        Optional.of(Duration.ofSeconds(30)),
        RetryPolicy.retryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now));
    assertEquals(Optional.empty(), RetryPolicy.retryAfter("120", now));
    assertEquals(Optional.empty(), RetryPolicy.retryAfter("soon", now));
    RateLimitedException limited = rateLimited("2");
    assertEquals(Duration.ofSeconds(2), policy.delay(0, limited, now));
  }

  @Test
  void backoffGrowsWithJitterAndCap() {
    RetryPolicy policy = new RetryPolicy(Duration.ofMillis(100), Duration.ofMillis(350));
    for (int attempt = 0; attempt < 5; attempt++) {
      long full = Math.min(100L << attempt, 350);
      long ms = policy.backoff(attempt).toMillis();
      assertTrue(ms <= full && ms >= full * 3 / 4 - 1, attempt + ": " + ms);
    }
  }

  @Test
  void connectionFailuresAreRetriedThenSurface() throws IOException {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    try (ConcordClient client =
        ConcordClient.builder()
            .baseUrl("http://127.0.0.1:" + port)
            .maxRetries(1)
            .retryBackoff(Duration.ofMillis(1), Duration.ofMillis(2))
            .build()) {
      ConnectionException e = assertThrows(ConnectionException.class, () -> client.health().live());
      assertFalse(e.isTimeout());
    }
  }

  @Test
  void attemptTimeoutIsAConnectionError() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(0)) {
      CountDownLatch release = new CountDownLatch(1);
      server.then(
          exchange -> {
            try {
              release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            json(200, "{}").answer(exchange);
          });
      RequestOptions quick = RequestOptions.builder().timeout(Duration.ofMillis(200)).build();
      ConnectionException e =
          assertThrows(ConnectionException.class, () -> client.health().live(quick));
      release.countDown();
      assertTrue(e.isTimeout());
    }
  }

  private static RateLimitedException rateLimited(String retryAfter) {
    return (RateLimitedException)
        dev.concord.errors.ApiErrors.fromAnswer(
            429,
            java.util.Map.of("retry-after", java.util.List.of(retryAfter)),
            dev.concord.core.Json.parse("{\"code\":\"RATE_LIMITED\"}"));
  }
}
