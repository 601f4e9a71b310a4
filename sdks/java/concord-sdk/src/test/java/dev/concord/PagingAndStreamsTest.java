package dev.concord;

import static dev.concord.FakeServer.json;
import static dev.concord.FakeServer.sse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.concord.core.Page;
import dev.concord.core.ServerStream;
import dev.concord.errors.LockNotHeldException;
import dev.concord.models.ListLocksParams;
import dev.concord.models.ListLocksResponse;
import dev.concord.models.Lock;
import dev.concord.models.LockEventType;
import dev.concord.models.WatchLocksResponse;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class PagingAndStreamsTest {
  private static String page(String token, String... names) {
    String locks =
        java.util.Arrays.stream(names)
            .map(n -> "{\"name\":\"" + n + "\"}")
            .collect(Collectors.joining(","));
    return "{\"locks\":[" + locks + "],\"next_page_token\":\"" + token + "\"}";
  }

  @Test
  void autoPagerFollowsTokens() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(0)) {
      server.then(json(200, page("t1", "a", "b")), json(200, page("t2", "c")), json(200, page("")));
      ListLocksParams params = ListLocksParams.builder().prefix("x").pageSize(2).build();
      List<String> names = new ArrayList<>();
      for (Lock lock : client.locks().list(params).autoPager()) {
        names.add(lock.name());
      }
      assertEquals(List.of("a", "b", "c"), names);
      assertEquals("/v1/locks?prefix=x&page_size=2", server.requests.get(0).uri());
      assertEquals("/v1/locks?prefix=x&page_size=2&page_token=t2", server.requests.get(2).uri());
    }
  }

  @Test
  void pagesOneByOneAndAsync() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(0)) {
      server.then(json(200, page("t1", "a")), json(200, page("", "b")));
      Page<Lock, ListLocksResponse> first = client.locks().list();
      assertTrue(first.hasNextPage());
      Page<Lock, ListLocksResponse> second = first.nextPage();
      assertFalse(second.hasNextPage());
      assertEquals("b", second.items().get(0).name());
      server.then(json(200, page("t1", "a")), json(200, page("", "b")));
      List<String> names = new ArrayList<>();
      client
          .async()
          .locks()
          .list()
          .thenCompose(p -> p.forEachItem(l -> names.add(l.name())))
          .join();
      assertEquals(List.of("a", "b"), names);
    }
  }

  @Test
  void readsServerSentEvents() throws IOException {
    String events =
        ": keep-alive\n\n"
            + "data: {\"type\":\"ACQUIRED\",\"lock\":{\"name\":\"a\",\"fencing_token\":3}}\n\n"
            + "event: message\ndata: {\"type\":\"SOMETHING_NEW\",\n"
            + "data: \"lock\":{\"name\":\"b\"}}\n\n";
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(0)) {
      server.then(sse(events));
      try (ServerStream<WatchLocksResponse> stream = client.locks().watch()) {
        Iterator<WatchLocksResponse> it = stream.iterator();
        WatchLocksResponse first = it.next();
        assertEquals(LockEventType.ACQUIRED, first.type().orElseThrow());
        assertEquals(3, first.lock().orElseThrow().fencingToken());
        WatchLocksResponse second = it.next();
        assertEquals(LockEventType.Known._UNKNOWN, second.type().orElseThrow().known());
        assertEquals("SOMETHING_NEW", second.type().orElseThrow().value());
        assertFalse(it.hasNext());
      }
      assertEquals("text/event-stream", server.requests.get(0).header("Accept"));
    }
  }

  @Test
  void anErrorEventEndsTheStreamWithItsException() throws IOException {
    String events =
        "data: {\"type\":\"ACQUIRED\"}\n\n"
            + "event: error\ndata: {\"code\":\"LOCK_NOT_HELD\",\"message\":\"gone\"}\n\n";
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(0)) {
      server.then(sse(events));
      try (ServerStream<WatchLocksResponse> stream = client.locks().watch()) {
        Iterator<WatchLocksResponse> it = stream.iterator();
        it.next();
        LockNotHeldException e = assertThrows(LockNotHeldException.class, it::hasNext);
        assertEquals("gone", e.errorMessage());
        assertEquals(409, e.statusCode());
      }
    }
  }

  @Test
  void aStreamRefusedAtOpenThrowsAtOnce() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(0)) {
      server.then(FakeServer.error(404, "NOT_FOUND"));
      assertThrows(
          dev.concord.errors.NotFoundException.class, () -> client.locks().watch().close());
    }
  }

  @Test
  void streamsAsJavaStreams() throws IOException {
    try (FakeServer server = new FakeServer();
        ConcordClient client = server.client(0)) {
      server.then(
          sse("data: {\"lock\":{\"name\":\"a\"}}\n\ndata: {\"lock\":{\"name\":\"b\"}}\n\n"));
      List<String> names;
      try (java.util.stream.Stream<WatchLocksResponse> s = client.locks().watch().stream()) {
        names = s.map(r -> r.lock().orElseThrow().name()).collect(Collectors.toList());
      }
      assertEquals(List.of("a", "b"), names);
    }
  }
}
