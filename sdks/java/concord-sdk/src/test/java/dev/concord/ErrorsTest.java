package dev.concord;

import static dev.concord.FakeServer.error;
import static dev.concord.FakeServer.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.concord.core.Json;
import dev.concord.errors.ApiErrors;
import dev.concord.errors.ApiException;
import dev.concord.errors.ConcordException;
import dev.concord.errors.ErrorCode;
import dev.concord.errors.LockConflictException;
import dev.concord.errors.NotFoundException;
import dev.concord.errors.UnavailableException;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ErrorsTest {
  @Test
  void everyCatalogueCodeHasItsOwnException() {
    for (ErrorCode code : ErrorCode.values()) {
      ApiException e =
          ApiErrors.fromAnswer(
              code.httpStatus(), Map.of(), Json.parse("{\"code\":\"" + code.value() + "\"}"));
      String expected =
          java.util.Arrays.stream(code.value().toLowerCase().split("_"))
                  .map(w -> Character.toUpperCase(w.charAt(0)) + w.substring(1))
                  .reduce("", String::concat)
              + "Exception";
      assertEquals(expected, e.getClass().getSimpleName());
      assertSame(code, e.code());
      assertEquals(code.httpStatus(), e.statusCode());
    }
  }

  @Test
  void readsTheErrorBody() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(0)) {
      server.then(error(409, "LOCK_CONFLICT", "X-Request-ID", "other"));
      LockConflictException e =
          assertThrows(LockConflictException.class, () -> client.locks().get("a"));
      assertEquals(409, e.statusCode());
      assertEquals("m", e.errorMessage());
      assertEquals("req_1", e.requestId());
      assertEquals(1, e.details().get("k").asInt());
      assertEquals("other", e.header("X-Request-Id").orElseThrow());
      assertFalse(e.isRetryable());
    }
  }

  @Test
  void answerWithoutBodyMapsByStatus() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(0)) {
      server.then(json(502, "<html>bad gateway</html>", "X-Request-ID", "req_9"));
      UnavailableException e =
          assertThrows(UnavailableException.class, () -> client.locks().get("a"));
      assertEquals(502, e.statusCode());
      assertEquals("req_9", e.requestId());
      server.then(json(404, ""));
      assertThrows(NotFoundException.class, () -> client.locks().get("a"));
    }
  }

  @Test
  void unknownCodesKeepTheirName() {
    ApiException e =
        ApiErrors.fromAnswer(
            418, Map.of("x", List.of("y")), Json.parse("{\"code\":\"TEAPOT\",\"details\":{}}"));
    assertEquals(ApiException.class, e.getClass());
    assertEquals("TEAPOT", e.code().value());
    assertFalse(e.code().isKnown());
  }

  @Test
  void successThatIsNotJsonIsAnSdkError() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(0)) {
      server.then(json(200, "not json"));
      ConcordException e = assertThrows(ConcordException.class, () -> client.locks().get("a"));
      assertTrue(e.getMessage().contains("not JSON"), e.getMessage());
    }
  }

  @Test
  void emptyPathParameterIsRefusedBeforeSending() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(0)) {
      assertThrows(IllegalArgumentException.class, () -> client.locks().get(""));
      assertThrows(NullPointerException.class, () -> client.locks().get(null));
      assertEquals(0, server.requests.size());
    }
  }
}
