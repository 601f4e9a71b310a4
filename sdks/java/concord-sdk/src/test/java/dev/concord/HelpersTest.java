package dev.concord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.concord.custom.HeldLock;
import dev.concord.custom.HoldOptions;
import dev.concord.custom.LockLostException;
import dev.concord.custom.SagaWorker;
import dev.concord.custom.WorkerOptions;
import dev.concord.errors.UnauthenticatedException;
import dev.concord.errors.UnavailableException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The hold and worker helpers on a scripted server (docs/sdk-helpers.md §1-2): what a loss names as
 * its cause, when renewals start after a confirmed grant, the order of the last heartbeat and the
 * hand-back, and a worker stopped by an UNAUTHENTICATED heartbeat.
 */
class HelpersTest {
  private static final String GRANT =
      "{\"lock\":{\"name\":\"l\",\"owner\":\"o\",\"fencing_token\":7,\"ttl\":\"1s\"}}";
  private static final String TASK =
      "{\"task_id\":\"a\",\"saga_id\":\"s\",\"step_name\":\"x\",\"phase\":\"ACTION\","
          + "\"task_type\":\"t\",\"attempt\":1,\"worker_id\":\"w\"}";

  /** Answers one request: the request's path and body are given. */
  @FunctionalInterface
  interface Route {
    void answer(HttpExchange exchange) throws IOException, InterruptedException;
  }

  private final Map<String, Route> routes = new ConcurrentHashMap<>();
  private final List<String> events = new CopyOnWriteArrayList<>();
  private final ExecutorService pool = Executors.newCachedThreadPool();
  private final HttpServer server;

  HelpersTest() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(pool);
    server.createContext("/", this::handle);
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
    pool.shutdownNow();
  }

  private void handle(HttpExchange exchange) throws IOException {
    String path = exchange.getRequestURI().getPath();
    String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    exchange.setAttribute("body", body);
    Route route =
        routes.entrySet().stream()
            .filter(entry -> path.endsWith(entry.getKey()))
            .map(Map.Entry::getValue)
            .findFirst()
            .orElse(ex -> FakeServer.error(404, "NOT_FOUND").answer(ex));
    try {
      route.answer(exchange);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      exchange.close();
    }
  }

  private ConcordClient client(Duration timeout) {
    return ConcordClient.builder()
        .baseUrl("http://127.0.0.1:" + server.getAddress().getPort())
        .apiKey("k")
        .timeout(timeout)
        .retryBackoff(Duration.ofMillis(1), Duration.ofMillis(5))
        .build();
  }

  private static void ok(HttpExchange exchange, String body) throws IOException {
    FakeServer.json(200, body).answer(exchange);
  }

  @Test
  void aWaitTimeoutAboveSixtySecondsIsCappedAndANegativeOneRefused() {
    WorkerOptions.Builder options = WorkerOptions.builder().taskTypes(List.of("t"));
    assertEquals(
        Duration.ofSeconds(60),
        options.waitTimeout(seconds(90)).handler(t -> null).build().waitTimeout());
    assertEquals(Duration.ZERO, options.waitTimeout(Duration.ZERO).build().waitTimeout());
    assertThrows(IllegalArgumentException.class, () -> options.waitTimeout(seconds(-1)));
  }

  @Test
  void aRenewalCutOffByTheDeadlineIsNotTheCauseOfTheLoss() throws Exception {
    AtomicInteger renewals = new AtomicInteger();
    routes.put(":acquire", ex -> ok(ex, GRANT));
    routes.put(
        ":renew",
        ex -> {
          if (renewals.incrementAndGet() == 1) {
            FakeServer.error(503, "UNAVAILABLE").answer(ex);
          } else {
            Thread.sleep(5_000); // no answer before the deadline
            ok(ex, GRANT);
          }
        });
    routes.put(":release", ex -> FakeServer.error(409, "LOCK_EXPIRED").answer(ex));
    CountDownLatch lost = new CountDownLatch(1);
    try (ConcordClient client = client(Duration.ofSeconds(30))) {
      LockLostException error;
      try {
        HeldLock lock = client.locks().hold("l", HoldOptions.builder().ttl(seconds(3)).build());
        lock.onLost(lost::countDown);
        assertTrue(lost.await(60, TimeUnit.SECONDS));
        error = assertThrows(LockLostException.class, lock::close);
      } catch (LockLostException e) {
        error = e; // a slow acquire: the confirming renewals met the same fate (§1.2)
      }
      assertTrue(renewals.get() >= 2, "a renewal was in flight at the deadline");
      assertInstanceOf(UnavailableException.class, error.getCause());
    }
  }

  @Test
  void aConfirmedLateGrantIsRenewedAThirdOfTheTtlAfterTheConfirmation() throws Exception {
    List<Long> renewed = new CopyOnWriteArrayList<>();
    CountDownLatch two = new CountDownLatch(2);
    routes.put(
        ":acquire",
        ex -> {
          Thread.sleep(700); // later than a third of the TTL: the hold confirms the grant
          ok(ex, GRANT);
        });
    routes.put(
        ":renew",
        ex -> {
          renewed.add(System.nanoTime());
          two.countDown();
          ok(ex, GRANT);
        });
    routes.put(":release", ex -> ok(ex, GRANT));
    try (ConcordClient client = client(Duration.ofSeconds(30));
        HeldLock lock = client.locks().hold("l", HoldOptions.builder().ttl(seconds(1.5)).build())) {
      assertTrue(two.await(60, TimeUnit.SECONDS));
      long gap = renewed.get(1) - renewed.get(0);
      assertTrue(
          gap >= TimeUnit.MILLISECONDS.toNanos(450),
          "the next renewal waits TTL/3 from the confirmation, not from the acquire: " + gap);
      assertEquals(7, lock.fencingToken());
    }
  }

  @Test
  void aHandBackWaitsForTheHeartbeatInFlight() throws Exception {
    CountDownLatch beating = new CountDownLatch(1);
    AtomicInteger polls = new AtomicInteger();
    routes.put(
        "tasks:poll",
        ex -> {
          if (polls.incrementAndGet() == 1) {
            ok(ex, "{\"tasks\":[" + TASK + "]}");
          } else {
            Thread.sleep(1_000);
            ok(ex, "{\"tasks\":[]}");
          }
        });
    routes.put(
        "a:heartbeat",
        ex -> {
          String body = (String) ex.getAttribute("body");
          if (body.contains("\"0.001s\"")) {
            events.add("hand-back");
          } else {
            events.add("heartbeat");
            beating.countDown();
            Thread.sleep(300);
            events.add("heartbeat answered");
          }
          ok(ex, "{\"task\":" + TASK + "}");
        });
    CountDownLatch handlerEnded = new CountDownLatch(1);
    try (ConcordClient client = client(Duration.ofSeconds(30))) {
      SagaWorker worker =
          client
              .sagas()
              .worker(
                  WorkerOptions.builder()
                      .taskTypes(List.of("t"))
                      .visibilityTimeout(seconds(3))
                      .waitTimeout(seconds(1))
                      .shutdownGrace(Duration.ZERO)
                      .handler(
                          task -> {
                            try {
                              new CountDownLatch(1).await();
                            } finally {
                              handlerEnded.countDown();
                            }
                            return null;
                          })
                      .build());
      Future<?> run = pool.submit(worker::run);
      assertTrue(beating.await(60, TimeUnit.SECONDS));
      worker.close();
      run.get(60, TimeUnit.SECONDS);
      assertTrue(handlerEnded.await(60, TimeUnit.SECONDS), "the handler was interrupted");
      assertEquals(List.of("heartbeat", "heartbeat answered", "hand-back"), events);
    }
  }

  @Test
  void anUnauthenticatedHeartbeatStopsTheWorkerAfterTheRunningHandlerFinished() throws Exception {
    AtomicInteger polls = new AtomicInteger();
    AtomicReference<SagaWorker> running = new AtomicReference<>();
    routes.put(
        "tasks:poll",
        ex -> {
          polls.incrementAndGet();
          ok(ex, "{\"tasks\":[" + TASK + "]}");
        });
    routes.put("a:heartbeat", ex -> FakeServer.error(401, "UNAUTHENTICATED").answer(ex));
    routes.put(
        "a:complete",
        ex -> {
          events.add("complete " + ex.getAttribute("body"));
          ok(ex, "{}");
        });
    try (ConcordClient client = client(Duration.ofSeconds(30))) {
      SagaWorker worker =
          client
              .sagas()
              .worker(
                  WorkerOptions.builder()
                      .taskTypes(List.of("t"))
                      .visibilityTimeout(Duration.ofMillis(300))
                      .handler(
                          task -> {
                            awaitShutdown(running);
                            return JsonNodeFactory.instance.objectNode().put("done", true);
                          })
                      .build());
      running.set(worker);
      assertThrows(UnauthenticatedException.class, worker::run);
      assertEquals(1, polls.get(), "no poll after the stop");
      assertEquals(1, events.size());
      assertTrue(events.get(0).contains("\"done\":true"), events.get(0));
    }
  }

  @Test
  void emptyPollsStartAtMostOnceASecond() throws Exception {
    AtomicInteger polls = new AtomicInteger();
    try (ConcordClient client = client(Duration.ofSeconds(30))) {
      SagaWorker worker = idleWorker(client, polls);
      Future<?> run = pool.submit(worker::run);
      Thread.sleep(2_000);
      worker.close();
      run.get(60, TimeUnit.SECONDS);
      assertTrue(polls.get() >= 1 && polls.get() <= 4, polls.get() + " polls in 2 s");
    }
  }

  @Test
  void closeEndsThePauseAfterAnEmptyPollAtOnce() throws Exception {
    AtomicInteger polls = new AtomicInteger();
    try (ConcordClient client = client(Duration.ofSeconds(30))) {
      SagaWorker worker = idleWorker(client, polls);
      Future<?> run = pool.submit(worker::run);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (polls.get() < 1 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      Thread.sleep(400); // the worker pauses until a second after its first poll
      int early = polls.get();
      long stopped = System.nanoTime();
      worker.close();
      run.get(60, TimeUnit.SECONDS);
      long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stopped);
      assertTrue(early >= 1 && early <= 2, early + " polls within 400 ms of the first: no pause");
      assertTrue(took < 800, "close() returned after " + took + " ms: the pause went on");
    }
  }

  /** A worker with a zero wait timeout on a server whose every poll answers no task at once. */
  private SagaWorker idleWorker(ConcordClient client, AtomicInteger polls) {
    routes.put(
        "tasks:poll",
        ex -> {
          polls.incrementAndGet();
          ok(ex, "{\"tasks\":[]}");
        });
    return client
        .sagas()
        .worker(
            WorkerOptions.builder()
                .taskTypes(List.of("t"))
                .waitTimeout(Duration.ZERO)
                .handler(task -> null)
                .build());
  }

  /**
   * Returns once the worker began its shutdown: the refused heartbeat reached the worker, not only
   * the fake server, so the handler finishes strictly after the stop.
   */
  private static void awaitShutdown(AtomicReference<SagaWorker> running)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (running.get() == null || !running.get().isShuttingDown()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the worker never began its shutdown");
      }
      Thread.sleep(10);
    }
  }

  private static Duration seconds(double value) {
    return Duration.ofMillis((long) (value * 1000));
  }
}
