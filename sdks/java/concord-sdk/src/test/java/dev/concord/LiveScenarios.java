package dev.concord;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.NullNode;
import dev.concord.core.Json;
import dev.concord.core.RawResponse;
import dev.concord.core.RequestOptions;
import dev.concord.core.ServerStream;
import dev.concord.errors.InvalidArgumentException;
import dev.concord.errors.LockConflictException;
import dev.concord.errors.NotFoundException;
import dev.concord.errors.UnauthenticatedException;
import dev.concord.models.AcquireLockParams;
import dev.concord.models.AcquireLockResponse;
import dev.concord.models.AppendToStreamParams;
import dev.concord.models.EventData;
import dev.concord.models.ListLocksParams;
import dev.concord.models.Lock;
import dev.concord.models.ReleaseLockParams;
import dev.concord.models.SetCacheEntryParams;
import dev.concord.models.SubscribeToStreamParams;
import dev.concord.models.SubscribeToStreamResponse;
import dev.concord.models.WatchLocksParams;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Behaviour checked against the live server that {@code make test-sdks} starts
 * (CONCORD_TEST_BASE_URL, CONCORD_TEST_GRPC_TARGET, CONCORD_TEST_API_KEY), once per transport.
 */
public abstract class LiveScenarios {
  /** The live server's REST base URL. */
  protected static final String BASE_URL = System.getenv("CONCORD_TEST_BASE_URL");

  /** The live server's admin key. */
  protected static final String API_KEY = System.getenv("CONCORD_TEST_API_KEY");

  private static final Duration TTL = Duration.ofSeconds(30);

  /** A hang guard for reads that close() must end, far above any real close. */
  private static final Duration HANG_GUARD = Duration.ofSeconds(5);

  /** The server's gauge of open subscriptions to one stream, over any transport. */
  private static final String STREAM_SUBSCRIPTIONS =
      "concord_event_subscriptions{scope=\"stream\"} ";

  /** The client under test, made per test. */
  protected ConcordClient client;

  /** A prefix unique to the test. */
  protected String unique;

  /** A client of the transport under test with these credentials. */
  protected abstract ConcordClient newClient(String apiKey);

  @BeforeEach
  void connect() {
    Assumptions.assumeTrue(
        BASE_URL != null && API_KEY != null, "set CONCORD_TEST_BASE_URL and CONCORD_TEST_API_KEY");
    client = newClient(API_KEY);
    unique = "java-" + UUID.randomUUID().toString().substring(0, 8);
  }

  @AfterEach
  void disconnect() {
    if (client != null) {
      client.close();
    }
  }

  /** Waits (at most a minute) until {@code condition} holds. */
  protected static void eventually(BooleanSupplier condition, String what)
      throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < end, "never happened: " + what);
      Thread.sleep(50);
    }
  }

  private static AcquireLockParams owner(String owner) {
    return AcquireLockParams.builder().owner(owner).ttl(TTL).build();
  }

  @Test
  void fencingTokensGrowAcrossGrants() {
    String name = unique + "-lock";
    Lock first = client.locks().acquire(name, owner("w1")).lock().orElseThrow();
    assertEquals(
        first.fencingToken(), client.locks().get(name).lock().orElseThrow().fencingToken());
    client
        .locks()
        .release(
            name,
            ReleaseLockParams.builder().owner("w1").fencingToken(first.fencingToken()).build());
    assertThrows(NotFoundException.class, () -> client.locks().get(name));
    Lock second = client.locks().acquire(name, owner("w2")).lock().orElseThrow();
    assertTrue(second.fencingToken() > first.fencingToken());
  }

  @Test
  void conflictIsATypedException() {
    String name = unique + "-busy";
    client.locks().acquire(name, owner("w1"));
    LockConflictException e =
        assertThrows(LockConflictException.class, () -> client.locks().acquire(name, owner("w2")));
    assertEquals(409, e.statusCode());
    assertFalse(e.requestId().isEmpty());
  }

  @Test
  void aRepeatedIdempotencyKeyReplaysTheGrant() {
    String name = unique + "-idem";
    RequestOptions key = RequestOptions.builder().idempotencyKey(unique + "-k").build();
    RawResponse<AcquireLockResponse> first =
        client.locks().withRawResponse().acquire(name, owner("w1"), key);
    RawResponse<AcquireLockResponse> again =
        client.locks().withRawResponse().acquire(name, owner("w1"), key);
    assertEquals(
        first.value().lock().orElseThrow().fencingToken(),
        again.value().lock().orElseThrow().fencingToken());
    assertFalse(first.isIdempotentReplay());
    assertTrue(again.isIdempotentReplay());
    assertFalse(again.requestId().isEmpty());
  }

  @Test
  void autoPagerWalksEveryPage() {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      names.add(unique + "-p" + i);
      client.locks().acquire(unique + "-p" + i, owner("w"));
    }
    ListLocksParams params = ListLocksParams.builder().prefix(unique + "-p").pageSize(2).build();
    List<String> listed = new ArrayList<>();
    client.locks().list(params).autoPager().forEach(l -> listed.add(l.name()));
    assertEquals(names, listed);
    List<String> async = new ArrayList<>();
    client
        .async()
        .locks()
        .list(params)
        .thenCompose(p -> p.forEachItem(l -> async.add(l.name())))
        .join();
    assertEquals(names, async);
  }

  @Test
  void jsonNullAndZeroDurationAreSent() {
    client
        .cache()
        .set(unique, "k", SetCacheEntryParams.builder().value(NullNode.getInstance()).build());
    assertTrue(
        client.cache().get(unique, "k").entry().orElseThrow().value().orElseThrow().isNull());
    AcquireLockParams zeroWait = owner("w").toBuilder().waitTimeout(Duration.ZERO).build();
    assertTrue(client.locks().acquire(unique + "-z", zeroWait).lock().isPresent());
  }

  @Test
  void subscriptionsDeliverMessagesInOrder() {
    String stream = unique + "-s";
    AppendToStreamParams.Builder append = AppendToStreamParams.builder();
    for (int i = 0; i < 2; i++) {
      append.addEvents(
          EventData.builder()
              .eventId(UUID.randomUUID().toString())
              .type("T" + i)
              .data(Json.toNode(i))
              .build());
    }
    client.events().append(stream, append.build());
    SubscribeToStreamParams from = SubscribeToStreamParams.builder().fromRevision(0).build();
    List<String> types = new ArrayList<>();
    try (ServerStream<SubscribeToStreamResponse> messages =
        client.events().subscribe(stream, from)) {
      Iterator<SubscribeToStreamResponse> it = messages.iterator();
      while (types.size() < 2 && it.hasNext()) {
        it.next().event().ifPresent(e -> types.add(e.type()));
      }
    }
    assertEquals(List.of("T0", "T1"), types);
  }

  @Test
  void badInputAndBadCredentialsAreTypedExceptions() {
    AcquireLockParams tooShort = owner("w").toBuilder().ttl(Duration.ofMillis(1)).build();
    assertThrows(InvalidArgumentException.class, () -> client.locks().acquire(unique, tooShort));
    try (ConcordClient stranger = newClient("not-a-key")) {
      assertThrows(UnauthenticatedException.class, () -> stranger.locks().get(unique));
    }
  }

  @Test
  void asyncTwinAnswersLikeTheSyncClient() {
    Lock lock =
        client.async().locks().acquire(unique + "-a", owner("w")).join().lock().orElseThrow();
    assertEquals(unique + "-a", lock.name());
  }

  @Test
  void closeFromAnotherThreadEndsAWatchBlockedOnAQuietStream() throws Exception {
    ServerStream<?> changes =
        client.locks().watch(WatchLocksParams.builder().prefix(unique).build());
    assertCloseEndsABlockedRead(changes, changes.iterator());
  }

  @Test
  void closeFromAnotherThreadEndsASubscriptionBlockedOnAQuietStream() throws Exception {
    double before = streamSubscriptions();
    ServerStream<SubscribeToStreamResponse> messages = client.events().subscribe(unique + "-quiet");
    Iterator<SubscribeToStreamResponse> it = messages.iterator();
    assertTrue(it.next().caughtUp().orElse(false), "a subscription from now starts caught up");
    assertCloseEndsABlockedRead(messages, it);
    eventually(() -> streamSubscriptions() <= before, "the server sees the subscription go");
  }

  /**
   * Blocks another thread in {@code it.hasNext()} on the quiet {@code stream}, then closes the
   * stream from this thread: the read must end without an error (docs/sdk-helpers.md §3).
   */
  private static void assertCloseEndsABlockedRead(ServerStream<?> stream, Iterator<?> it)
      throws Exception {
    ExecutorService reader = Executors.newSingleThreadExecutor();
    try {
      Future<Boolean> next = reader.submit(it::hasNext);
      assertThrows(TimeoutException.class, () -> next.get(300, TimeUnit.MILLISECONDS));
      stream.close();
      boolean more =
          assertDoesNotThrow(
              () -> next.get(HANG_GUARD.toMillis(), TimeUnit.MILLISECONDS),
              "close() ends the blocked read without an error");
      assertFalse(more, "a closed stream has no more messages");
    } finally {
      reader.shutdownNow();
    }
  }

  /** The live server's count of open single-stream subscriptions (from its /metrics). */
  private static double streamSubscriptions() {
    HttpRequest scrape = HttpRequest.newBuilder(URI.create(BASE_URL + "/metrics")).build();
    try {
      String metrics =
          HttpClient.newHttpClient().send(scrape, HttpResponse.BodyHandlers.ofString()).body();
      return metrics
          .lines()
          .filter(line -> line.startsWith(STREAM_SUBSCRIPTIONS))
          .mapToDouble(line -> Double.parseDouble(line.substring(STREAM_SUBSCRIPTIONS.length())))
          .findFirst()
          .orElseThrow();
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException("no metrics from the live server", e);
    }
  }
}
