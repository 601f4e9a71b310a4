package dev.concord;

import static dev.concord.CuttingServer.cut;
import static dev.concord.CuttingServer.error;
import static dev.concord.CuttingServer.frames;
import static dev.concord.CuttingServer.hold;
import static dev.concord.CuttingServer.silent;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.concord.core.RequestOptions;
import dev.concord.core.ServerStream;
import dev.concord.errors.ConnectionException;
import dev.concord.errors.PermissionDeniedException;
import dev.concord.errors.UnavailableException;
import dev.concord.models.SubscribeToStreamParams;
import dev.concord.models.SubscribeToStreamResponse;
import dev.concord.models.WatchLocksResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A subscription over SSE resumes from its last id when the connection breaks (§3). */
class ResumeTest {
  private static final SubscribeToStreamParams FROM_0 =
      SubscribeToStreamParams.builder().fromRevision(0).build();

  /** An SSE frame with id {@code revision} carrying the event of that revision. */
  private static String event(long revision) {
    return "id: " + revision + "\ndata: {\"event\":{\"revision\":" + revision + "}}\n\n";
  }

  /** The next message's revision, or -1 for a caught_up marker. */
  private static long revision(Iterator<SubscribeToStreamResponse> it) {
    SubscribeToStreamResponse message = it.next();
    return message.event().map(e -> e.revision()).orElse(-1L);
  }

  /** Reads every message: revisions, -1 for caught_up. */
  private static List<Long> readAll(ServerStream<SubscribeToStreamResponse> stream) {
    List<Long> seen = new ArrayList<>();
    Iterator<SubscribeToStreamResponse> it = stream.iterator();
    while (it.hasNext()) {
      seen.add(revision(it));
    }
    return seen;
  }

  private static CountDownLatch open() {
    CountDownLatch gate = new CountDownLatch(1);
    gate.countDown();
    return gate;
  }

  @Test
  void resumesFromTheLastIdWithoutDuplicates() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    try (CuttingServer server = new CuttingServer();
        ConcordClient client = server.client(3)) {
      String caughtUp = "data: {\"caught_up\":true}\n\n";
      server.then(cut(event(0) + event(1), gate), frames(event(2) + caughtUp + event(3)));
      try (ServerStream<SubscribeToStreamResponse> stream =
          client.events().subscribe("s", FROM_0)) {
        Iterator<SubscribeToStreamResponse> it = stream.iterator();
        assertEquals(0, revision(it));
        assertEquals(1, revision(it));
        gate.countDown();
        List<Long> rest = new ArrayList<>();
        it.forEachRemaining(m -> rest.add(m.event().map(e -> e.revision()).orElse(-1L)));
        assertEquals(List.of(2L, -1L, 3L), rest);
      }
      assertEquals(2, server.requests.size());
      assertNull(server.header(0, "Last-Event-ID"));
      assertEquals("1", server.header(1, "Last-Event-ID"));
      assertEquals(server.requestLine(0), server.requestLine(1));
      assertEquals("GET /v1/streams/s:subscribe?from_revision=0 HTTP/1.1", server.requestLine(1));
      assertEquals("secret-key", server.header(1, "X-API-Key"));
    }
  }

  /** The in-band error a draining server ends its streams with. */
  private static final String DRAINED =
      "event: error\ndata: {\"code\":\"UNAVAILABLE\",\"message\":\"shutting down\","
          + "\"details\":{\"reason\":\"shutting_down\"}}\n\n";

  @Test
  void aDrainingServersUnavailableIsResumedFromLikeABreak() throws Exception {
    try (CuttingServer server = new CuttingServer();
        ConcordClient client = server.client(3)) {
      String caughtUp = "data: {\"caught_up\":true}\n\n";
      server.then(frames(event(0) + event(1) + DRAINED), frames(event(2) + caughtUp));
      try (ServerStream<SubscribeToStreamResponse> stream =
          client.events().subscribe("s", FROM_0)) {
        assertEquals(List.of(0L, 1L, 2L, -1L), readAll(stream));
      }
      assertEquals(2, server.requests.size());
      assertEquals("1", server.header(1, "Last-Event-ID"));
    }
  }

  @Test
  void anUnavailableBeforeAnyIdOrWithoutRetriesIsRaised() throws Exception {
    for (int retries : new int[] {3, 0}) {
      String before = retries == 0 ? event(0) : "";
      try (CuttingServer server = new CuttingServer();
          ConcordClient client = server.client(retries)) {
        server.then(frames(before + DRAINED), frames(event(1)));
        try (ServerStream<SubscribeToStreamResponse> stream =
            client.events().subscribe("s", FROM_0)) {
          UnavailableException raised =
              assertThrows(UnavailableException.class, () -> readAll(stream));
          assertEquals("shutting_down", raised.details().path("reason").asText());
        }
        assertEquals(1, server.requests.size());
      }
    }
  }

  @Test
  void anInBandErrorOtherThanUnavailableIsRaisedWithoutReopening() throws Exception {
    try (CuttingServer server = new CuttingServer();
        ConcordClient client = server.client(3)) {
      String denied = "event: error\ndata: {\"code\":\"PERMISSION_DENIED\",\"message\":\"no\"}\n\n";
      server.then(frames(event(0) + denied), frames(event(1)));
      try (ServerStream<SubscribeToStreamResponse> stream =
          client.events().subscribe("s", FROM_0)) {
        assertThrows(PermissionDeniedException.class, () -> readAll(stream));
      }
      assertEquals(1, server.requests.size());
    }
  }

  @Test
  void anIdOnlyFrameIsNoMessageButItsIdIsResumedFrom() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    try (CuttingServer server = new CuttingServer();
        ConcordClient client = server.client(3)) {
      server.then(cut("id: 6\n\n", gate), frames(event(7)));
      try (ServerStream<SubscribeToStreamResponse> stream = client.events().subscribe("s")) {
        CompletableFuture<List<Long>> read = CompletableFuture.supplyAsync(() -> readAll(stream));
        Thread.sleep(300); // the id-only frame reaches the reader before the connection breaks
        gate.countDown();
        assertEquals(List.of(7L), read.get(60, TimeUnit.SECONDS));
      }
      assertEquals("6", server.header(1, "Last-Event-ID"));
    }
  }

  @Test
  void reopenAttemptsAreCountedThenTheConnectionErrorIsRaised() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    try (CuttingServer server = new CuttingServer();
        ConcordClient client = server.client(2)) {
      // Each reopening opens and breaks before a message: a failed attempt.
      server.then(cut(event(0), gate), cut("", open()), cut("", open()), frames(event(1)));
      try (ServerStream<SubscribeToStreamResponse> stream =
          client.events().subscribe("s", FROM_0)) {
        Iterator<SubscribeToStreamResponse> it = stream.iterator();
        assertEquals(0, revision(it));
        gate.countDown();
        assertThrows(ConnectionException.class, it::hasNext);
      }
      assertEquals(3, server.requests.size(), "the opening and 2 reopen attempts");
      assertEquals("0", server.header(2, "Last-Event-ID"));
    }
  }

  @Test
  void theFailureCountStartsAgainOnceAMessageArrives() throws Exception {
    CountDownLatch first = new CountDownLatch(1);
    CountDownLatch second = new CountDownLatch(1);
    try (CuttingServer server = new CuttingServer();
        ConcordClient client = server.client(1)) {
      server.then(cut(event(0), first), cut(event(1), second), frames(event(2)));
      try (ServerStream<SubscribeToStreamResponse> stream =
          client.events().subscribe("s", FROM_0)) {
        Iterator<SubscribeToStreamResponse> it = stream.iterator();
        assertEquals(0, revision(it));
        first.countDown();
        assertEquals(1, revision(it));
        second.countDown();
        assertEquals(2, revision(it));
        assertFalse(it.hasNext());
      }
      assertEquals("1", server.header(2, "Last-Event-ID"));
    }
  }

  @Test
  void aRefusedReopeningHonoursRetryAfter() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    try (CuttingServer server = new CuttingServer();
        ConcordClient client = server.client(2)) {
      server.then(
          cut(event(0), gate), error(503, "UNAVAILABLE", "Retry-After", "0.5"), frames(event(1)));
      try (ServerStream<SubscribeToStreamResponse> stream =
          client.events().subscribe("s", FROM_0)) {
        Iterator<SubscribeToStreamResponse> it = stream.iterator();
        assertEquals(0, revision(it));
        gate.countDown();
        long start = System.nanoTime();
        assertEquals(1, revision(it));
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(500));
      }
      assertEquals(3, server.requests.size());
    }
  }

  @Test
  void aReopeningRefusedForGoodRaisesItsTypedError() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    try (CuttingServer server = new CuttingServer();
        ConcordClient client = server.client(3)) {
      server.then(cut(event(0), gate), error(403, "PERMISSION_DENIED"));
      try (ServerStream<SubscribeToStreamResponse> stream =
          client.events().subscribe("s", FROM_0)) {
        Iterator<SubscribeToStreamResponse> it = stream.iterator();
        assertEquals(0, revision(it));
        gate.countDown();
        assertThrows(PermissionDeniedException.class, it::hasNext);
      }
      assertEquals(2, server.requests.size());
    }
  }

  @Test
  void noRetriesMeansNoReconnect() throws Exception {
    try (CuttingServer server = new CuttingServer();
        ConcordClient client = server.client(0)) {
      server.then(cut(event(0), open()), frames(event(1)));
      try (ServerStream<SubscribeToStreamResponse> stream =
          client.events().subscribe("s", FROM_0)) {
        assertThrows(ConnectionException.class, () -> readAll(stream));
      }
      assertEquals(1, server.requests.size());
    }
  }

  @Test
  void theCallsMaxRetriesDecides() throws Exception {
    try (CuttingServer server = new CuttingServer();
        ConcordClient client = server.client(3)) {
      RequestOptions none = RequestOptions.builder().maxRetries(0).build();
      server.then(cut(event(0), open()), frames(event(1)));
      try (ServerStream<SubscribeToStreamResponse> stream =
          client.events().subscribe("s", FROM_0, none)) {
        assertThrows(ConnectionException.class, () -> readAll(stream));
      }
      assertEquals(1, server.requests.size());
    }
    CountDownLatch gate = new CountDownLatch(1);
    try (CuttingServer server = new CuttingServer();
        ConcordClient client = server.client(0)) {
      RequestOptions one = RequestOptions.builder().maxRetries(1).build();
      server.then(cut(event(0), gate), frames(event(1)));
      try (ServerStream<SubscribeToStreamResponse> stream =
          client.events().subscribe("s", FROM_0, one)) {
        Iterator<SubscribeToStreamResponse> it = stream.iterator();
        assertEquals(0, revision(it));
        gate.countDown();
        assertEquals(1, revision(it));
      }
      assertEquals(2, server.requests.size());
    }
  }

  @Test
  void closingTheStreamDuringTheBackoffEndsItCleanly() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    try (CuttingServer server = new CuttingServer();
        ConcordClient client = server.client(3, Duration.ofSeconds(30))) {
      server.then(cut(event(0), gate), frames(event(1)));
      ServerStream<SubscribeToStreamResponse> stream = client.events().subscribe("s", FROM_0);
      Iterator<SubscribeToStreamResponse> it = stream.iterator();
      assertEquals(0, revision(it));
      CompletableFuture<Boolean> more = CompletableFuture.supplyAsync(it::hasNext);
      gate.countDown();
      Thread.sleep(500); // the connection broke: the stream waits 30 s to reopen
      long start = System.nanoTime();
      stream.close();
      assertFalse(more.get(10, TimeUnit.SECONDS));
      assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10));
      Thread.sleep(200);
      assertEquals(1, server.requests.size(), "no request after the close");
    }
  }

  @Test
  void closingTheStreamWhileItReopensAbortsTheReopening() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    try (CuttingServer server = new CuttingServer();
        ConcordClient client = server.client(3)) {
      server.then(cut(event(0), gate), silent());
      ServerStream<SubscribeToStreamResponse> stream = client.events().subscribe("s", FROM_0);
      Iterator<SubscribeToStreamResponse> it = stream.iterator();
      assertEquals(0, revision(it));
      CompletableFuture<Boolean> more = CompletableFuture.supplyAsync(it::hasNext);
      gate.countDown();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (server.requests.size() < 2) {
        assertTrue(System.nanoTime() < deadline, "no reopening within 30 s");
        Thread.sleep(10);
      }
      stream.close();
      assertEquals("closed", server.next());
      assertFalse(more.get(10, TimeUnit.SECONDS));
      assertFalse(Thread.currentThread().isInterrupted());
    }
  }

  @Test
  void aStreamWithoutIdsDoesNotReconnect() throws Exception {
    try (CuttingServer server = new CuttingServer();
        ConcordClient client = server.client(3)) {
      server.then(cut("data: {\"lock\":{\"name\":\"a\"}}\n\n", open()), frames(""));
      try (ServerStream<WatchLocksResponse> stream = client.locks().watch()) {
        Iterator<WatchLocksResponse> it = stream.iterator();
        assertThrows(ConnectionException.class, () -> it.forEachRemaining(m -> {}));
      }
      assertEquals(1, server.requests.size());
    }
  }

  @Test
  void anIdClearedByAnEmptyIdOrAnUnfinishedFrameIsNotResumedFrom() throws Exception {
    try (CuttingServer server = new CuttingServer();
        ConcordClient client = server.client(3)) {
      String unfinished = "id: 1\ndata: {\"event\":{\"revision\":1}}\n";
      server.then(cut(event(0) + unfinished, open()), frames(event(1)));
      try (ServerStream<SubscribeToStreamResponse> stream =
          client.events().subscribe("s", FROM_0)) {
        assertEquals(List.of(0L, 1L), readAll(stream));
      }
      assertEquals("0", server.header(1, "Last-Event-ID"));
      server.then(cut(event(0) + "id:\n\n", open()), frames(event(1)));
      try (ServerStream<SubscribeToStreamResponse> stream =
          client.events().subscribe("s", FROM_0)) {
        assertThrows(ConnectionException.class, () -> readAll(stream));
      }
      assertEquals(3, server.requests.size());
    }
  }

  @Test
  void aStreamTheServerEndsIsNotReopened() throws Exception {
    try (CuttingServer server = new CuttingServer();
        ConcordClient client = server.client(3)) {
      server.then(frames(event(0)), hold(event(1)));
      try (ServerStream<SubscribeToStreamResponse> stream =
          client.events().subscribe("s", FROM_0)) {
        assertEquals(List.of(0L), readAll(stream));
      }
      assertEquals(1, server.requests.size());
    }
  }
}
