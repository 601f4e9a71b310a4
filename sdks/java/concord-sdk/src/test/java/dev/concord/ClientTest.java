package dev.concord;

import static dev.concord.FakeServer.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.concord.core.Logging;
import dev.concord.core.RawResponse;
import dev.concord.core.RequestOptions;
import dev.concord.core.ServerStream;
import dev.concord.errors.CrossOriginRedirectException;
import dev.concord.models.GetLockResponse;
import dev.concord.models.WatchLocksResponse;
import java.io.IOException;
import java.net.URI;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClientTest {
  @Test
  void sendsCredentialsHeadersAndUserAgent() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client =
            ConcordClient.builder()
                .baseUrl(server.url() + "/")
                .apiKey("k1")
                .header("X-Team", "t")
                .build()) {
      server.then(json(200, "{}"));
      client.locks().get("a b", RequestOptions.builder().header("X-Call", "c").build());
      FakeServer.Request request = server.requests.get(0);
      assertEquals("/v1/locks/a%20b", request.uri());
      assertEquals("k1", request.header("X-api-key"));
      assertEquals("t", request.header("X-team"));
      assertEquals("c", request.header("X-call"));
      assertTrue(request.header("User-agent").startsWith("concord-java/" + ConcordClient.VERSION));
    }
  }

  @Test
  void bearerTokenWinsOverTheApiKey() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client =
            ConcordClient.builder().baseUrl(server.url()).apiKey("k").bearerToken("jwt").build()) {
      server.then(json(200, "{}"));
      client.health().live();
      assertEquals("Bearer jwt", server.requests.get(0).header("Authorization"));
      assertNull(server.requests.get(0).header("X-api-key"));
    }
  }

  @Test
  void readsTheEnvironment() {
    Map<String, String> env =
        Map.of("CONCORD_BASE_URL", "http://example.test:9", "CONCORD_API_KEY", " k ");
    ConcordClient client = ConcordClient.builder().fromEnv(env::get).build();
    assertEquals(URI.create("http://example.test:9"), client.config().baseUrl());
    assertEquals("k", client.config().apiKey());
    client.close();
  }

  @Test
  void rejectsBadSettings() {
    assertThrows(IllegalArgumentException.class, () -> ConcordClient.builder().baseUrl("nope"));
    assertThrows(IllegalArgumentException.class, () -> ConcordClient.builder().maxRetries(-1));
    assertThrows(
        IllegalArgumentException.class,
        () -> RequestOptions.builder().timeout(java.time.Duration.ZERO));
  }

  @Test
  void rawResponsesCarryStatusHeadersAndRequestId() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(0)) {
      server.then(
          json(
              200,
              "{\"lock\":{\"name\":\"a\"}}",
              "X-Request-ID",
              "req_7",
              "Idempotent-Replayed",
              "true"));
      RawResponse<GetLockResponse> raw = client.locks().withRawResponse().get("a");
      assertEquals(200, raw.statusCode());
      assertEquals("req_7", raw.requestId());
      assertTrue(raw.isIdempotentReplay());
      assertEquals("a", raw.value().lock().orElseThrow().name());
    }
  }

  @Test
  void asyncCallsComplete() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(0)) {
      server.then(json(200, "{\"status\":\"SERVING\"}"));
      assertEquals("SERVING", client.async().health().live().join().status().orElseThrow().value());
    }
  }

  @Test
  void logsRedactCredentials() {
    Map<String, List<String>> safe =
        Logging.redact(
            Map.of(
                "X-API-Key",
                List.of("secret"),
                "Authorization",
                List.of("Bearer t"),
                "A",
                List.of("b")));
    assertEquals(List.of("***"), safe.get("X-API-Key"));
    assertEquals(List.of("***"), safe.get("Authorization"));
    assertEquals(List.of("b"), safe.get("A"));
  }

  @Test
  void explicitCredentialsAndUrlWinOverTheEnvironment() {
    Map<String, String> env =
        Map.of(
            "CONCORD_BASE_URL", "http://env.test:1",
            "CONCORD_API_KEY", "env-key",
            "CONCORD_BEARER_TOKEN", "env-jwt");
    try (ConcordClient client =
        ConcordClient.builder()
            .apiKey("mine")
            .baseUrl("http://mine.test:2")
            .fromEnv(env::get)
            .build()) {
      assertEquals("mine", client.config().apiKey());
      assertEquals("", client.config().bearerToken());
      assertEquals(URI.create("http://mine.test:2"), client.config().baseUrl());
    }
    try (ConcordClient client = ConcordClient.builder().fromEnv(env::get).apiKey("").build()) {
      assertEquals("env-jwt", client.config().bearerToken());
    }
  }

  @Test
  void anEmptyExplicitBaseUrlCountsAsNotGiven() { // docs/sdk-helpers.md §4
    Map<String, String> env = Map.of("CONCORD_BASE_URL", "http://env.test:1");
    try (ConcordClient client = ConcordClient.builder().baseUrl("").fromEnv(env::get).build()) {
      assertEquals(URI.create("http://env.test:1"), client.config().baseUrl());
    }
    try (ConcordClient client = ConcordClient.builder().baseUrl(" ").build()) {
      assertEquals(URI.create("http://localhost:8080"), client.config().baseUrl());
    }
  }

  @Test
  void settingsNeverShowCredentials() {
    try (ConcordClient client =
        ConcordClient.builder().apiKey("s3cret").header("Authorization", "Bearer x").build()) {
      String text = client.config().toString();
      assertFalse(text.contains("s3cret") || text.contains("Bearer x"), text);
    }
  }

  @Test
  void followsRedirectsWithinTheOrigin() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(0)) {
      server.then(
          json(307, "", "Location", "/v1/health/ready"), json(200, "{\"status\":\"SERVING\"}"));
      assertEquals("SERVING", client.health().live().status().orElseThrow().value());
      assertEquals("/v1/health/ready", server.requests.get(1).uri());
      assertEquals("secret-key", server.requests.get(1).header("X-api-key"));
    }
  }

  @Test
  void refusesRedirectsToAnotherOrigin() throws IOException {
    try (FakeServer server = new FakeServer();
        FakeServer other = new FakeServer();
        ConcordClient client = server.client(0)) {
      server.then(json(302, "", "Location", other.url() + "/steal"));
      CrossOriginRedirectException e =
          assertThrows(CrossOriginRedirectException.class, () -> client.health().live());
      assertEquals(other.url() + "/steal", e.location());
      assertEquals(0, other.requests.size());
    }
  }

  @Test
  void streamOpeningIsRetried() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(2)) {
      server.then(
          FakeServer.error(503, "UNAVAILABLE"),
          FakeServer.sse("data: {\"lock\":{\"name\":\"a\"}}\n\n"));
      try (ServerStream<WatchLocksResponse> stream = client.locks().watch()) {
        assertEquals("a", stream.iterator().next().lock().orElseThrow().name());
      }
      assertEquals(2, server.requests.size());
    }
  }
}
