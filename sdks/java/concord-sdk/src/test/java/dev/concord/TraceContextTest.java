package dev.concord;

import static dev.concord.FakeServer.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.concord.core.RequestOptions;
import java.io.IOException;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The {@code traceparent} request option: sent as the W3C header, checked when set. */
class TraceContextTest {
  private static final String TRACEPARENT =
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

  @Test
  void sendsTheTraceparentOfTheCallAndNoneWithoutOne() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = ConcordClient.builder().baseUrl(server.url()).apiKey("k").build()) {
      server.then(json(200, "{}"));
      server.then(json(200, "{}"));
      RequestOptions traced = RequestOptions.builder().traceparent(TRACEPARENT).build();
      client.health().live(traced);
      client.health().live();
      assertEquals(TRACEPARENT, server.requests.get(0).header("Traceparent"));
      assertNull(server.requests.get(1).header("Traceparent"));
      assertEquals(Optional.of(TRACEPARENT), traced.traceparent());
    }
  }

  @Test
  void refusesSomethingThatIsNotATraceparent() {
    assertThrows(
        IllegalArgumentException.class, () -> RequestOptions.builder().traceparent("abc-123"));
    assertEquals(Optional.empty(), RequestOptions.none().traceparent());
  }
}
