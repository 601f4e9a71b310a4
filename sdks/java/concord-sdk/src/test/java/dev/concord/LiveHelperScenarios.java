package dev.concord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.concord.core.Json;
import dev.concord.custom.HeldLock;
import dev.concord.custom.HoldOptions;
import dev.concord.custom.LockLostException;
import dev.concord.custom.NonRetryableTaskException;
import dev.concord.custom.SagaWorker;
import dev.concord.custom.WorkerOptions;
import dev.concord.errors.LockConflictException;
import dev.concord.errors.LockNotHeldException;
import dev.concord.errors.NotFoundException;
import dev.concord.models.ReleaseLockParams;
import dev.concord.models.Saga;
import dev.concord.models.StartSagaParams;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The hold and worker helpers (docs/sdk-helpers.md) against the live server, per transport. */
public abstract class LiveHelperScenarios extends LiveScenarios {
  @Test
  void holdAcquiresAndReleasesOnScopeExit() {
    String name = unique + "-hold";
    try (HeldLock lock = client.locks().hold(name)) {
      assertTrue(lock.fencingToken() > 0);
      assertThrows(
          LockConflictException.class,
          () -> client.locks().hold(name, HoldOptions.builder().owner("other").build()));
      assertFalse(lock.isLost());
    }
    assertThrows(NotFoundException.class, () -> client.locks().get(name));
  }

  @Test
  void anInterruptedBlockStillReleasesTheLock() throws InterruptedException {
    String name = unique + "-interrupted";
    AtomicReference<Boolean> stillInterrupted = new AtomicReference<>();
    Thread holder =
        new Thread(
            () -> {
              try (HeldLock lock = client.locks().hold(name)) {
                assertTrue(lock.fencingToken() > 0);
                Thread.currentThread().interrupt();
              }
              stillInterrupted.set(Thread.currentThread().isInterrupted());
            });
    holder.start();
    holder.join(10_000);
    assertEquals(Boolean.TRUE, stillInterrupted.get(), "the thread stays interrupted");
    assertThrows(NotFoundException.class, () -> client.locks().get(name));
  }

  @Test
  void holdRenewsInTheBackground() throws InterruptedException {
    String name = unique + "-renew";
    try (HeldLock lock =
        client.locks().hold(name, HoldOptions.builder().ttl(Duration.ofSeconds(3)).build())) {
      Instant first = lock.lock().expiresAt().orElseThrow();
      eventually(
          () ->
              client
                  .locks()
                  .get(name)
                  .lock()
                  .orElseThrow()
                  .expiresAt()
                  .orElseThrow()
                  .isAfter(first),
          "a renewal moves the expiry");
      assertEquals(
          lock.fencingToken(), client.locks().get(name).lock().orElseThrow().fencingToken());
    }
  }

  @Test
  void aLockTakenAwaySignalsLossAndCloseThrows() throws InterruptedException {
    String name = unique + "-lost";
    HeldLock lock =
        client.locks().hold(name, HoldOptions.builder().ttl(Duration.ofSeconds(3)).build());
    CountDownLatch lost = new CountDownLatch(1);
    lock.onLost(lost::countDown);
    client
        .locks()
        .release(
            name,
            ReleaseLockParams.builder()
                .owner(lock.owner())
                .fencingToken(lock.fencingToken())
                .build());
    assertTrue(lost.await(60, TimeUnit.SECONDS), "the next renewal finds the lock gone");
    assertTrue(lock.isLost());
    assertThrows(LockLostException.class, lock::check);
    LockLostException e = assertThrows(LockLostException.class, lock::close);
    assertInstanceOf(LockNotHeldException.class, e.getCause());
    lock.close(); // a second close does nothing
  }

  @Test
  void withoutAutoRenewTheDeadlineLosesTheHold() throws InterruptedException {
    HeldLock lock =
        client
            .locks()
            .hold(
                unique + "-short",
                HoldOptions.builder().ttl(Duration.ofMillis(500)).autoRenew(false).build());
    eventually(lock::isLost, "the local deadline passes");
    assertThrows(LockLostException.class, lock::close);
  }

  @Test
  void aFailingBlockKeepsItsErrorAndGetsTheLossSuppressed() throws InterruptedException {
    HeldLock lock =
        client
            .locks()
            .hold(
                unique + "-body",
                HoldOptions.builder().ttl(Duration.ofMillis(500)).autoRenew(false).build());
    eventually(lock::isLost, "the local deadline passes");
    IllegalStateException body =
        assertThrows(
            IllegalStateException.class,
            () -> {
              try (lock) {
                throw new IllegalStateException("the block failed");
              }
            });
    assertInstanceOf(LockLostException.class, body.getSuppressed()[0]);
  }

  private Saga startSaga(String id, String... taskTypes) {
    StringBuilder steps = new StringBuilder();
    for (int i = 0; i < taskTypes.length; i++) {
      steps.append(i == 0 ? "" : ",");
      steps.append("{\"name\":\"s").append(i).append("\",\"action\":{\"task\":{\"task_type\":\"");
      steps.append(taskTypes[i]).append("\"}}}");
    }
    String definition = "{\"name\":\"java\",\"steps\":[" + steps + "]}";
    JsonNode params =
        Json.parse(
            "{\"saga_id\":\"" + id + "\",\"input\":{\"n\":1},\"definition\":" + definition + "}");
    return client.sagas().start(StartSagaParams.fromJson(params)).saga().orElseThrow();
  }

  @Test
  void workerRunsTasksAndReportsOutcomes() throws Exception {
    String type = unique + ".work";
    startSaga(unique + "-ok", type, type);
    WorkerOptions options =
        WorkerOptions.builder()
            .taskTypes(type)
            .handler(task -> Json.toNode(java.util.Map.of("step", task.stepName())))
            .concurrency(2)
            .waitTimeout(Duration.ofSeconds(1))
            .build();
    ExecutorService runner = Executors.newSingleThreadExecutor();
    SagaWorker worker = client.sagas().worker(options);
    try {
      Future<?> running = runner.submit(worker::run);
      eventually(
          () ->
              client
                  .sagas()
                  .get(unique + "-ok")
                  .saga()
                  .orElseThrow()
                  .state()
                  .orElseThrow()
                  .value()
                  .equals("COMPLETED"),
          "the saga completes");
      worker.close();
      running.get(60, TimeUnit.SECONDS);
    } finally {
      worker.close();
      runner.shutdownNow();
    }
  }

  @Test
  void nonRetryableFailureFailsTheSaga() throws Exception {
    String type = unique + ".fail";
    startSaga(unique + "-bad", type);
    ExecutorService runner = Executors.newSingleThreadExecutor();
    try (SagaWorker worker =
        client
            .sagas()
            .worker(
                List.of(type),
                task -> {
                  throw new NonRetryableTaskException("card declined");
                })) {
      runner.submit(worker::run);
      eventually(
          () ->
              !client
                  .sagas()
                  .get(unique + "-bad")
                  .saga()
                  .orElseThrow()
                  .state()
                  .orElseThrow()
                  .value()
                  .equals("RUNNING"),
          "the saga leaves RUNNING");
      String state =
          client.sagas().get(unique + "-bad").saga().orElseThrow().state().orElseThrow().value();
      assertTrue(state.equals("FAILED") || state.equals("COMPENSATED"), state);
    } finally {
      runner.shutdownNow();
    }
  }

  @Test
  void workerWithBadCredentialsStops() {
    try (ConcordClient stranger = newClient("not-a-key");
        SagaWorker worker =
            stranger
                .sagas()
                .worker(
                    WorkerOptions.builder()
                        .taskTypes(unique + ".x")
                        .handler(task -> null)
                        .shutdownGrace(Duration.ZERO)
                        .build())) {
      assertThrows(dev.concord.errors.UnauthenticatedException.class, worker::run);
    }
  }
}
