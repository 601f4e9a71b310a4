package dev.concord.custom;

import com.fasterxml.jackson.databind.JsonNode;
import dev.concord.core.RequestOptions;
import dev.concord.errors.ConcordException;
import dev.concord.errors.NotFoundException;
import dev.concord.errors.TaskLeaseLostException;
import dev.concord.models.CompleteTaskParams;
import dev.concord.models.FailTaskParams;
import dev.concord.models.HeartbeatTaskParams;
import dev.concord.models.Task;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/** One leased task of a {@link SagaWorker}: its handler, its heartbeats and its outcome. */
final class LeasedTask {
  private static final int MAX_ERROR_MESSAGE = 4000;

  private enum State {
    RUNNING,
    LEASE_LOST,
    HANDED_BACK,
    DONE
  }

  private final SagaWorker worker;
  private final Task task;
  private final long cadenceNs;
  private final long retryNs;
  private long nextBeat;
  private State state = State.RUNNING;
  private Future<?> handler;
  private CompletableFuture<?> beating = CompletableFuture.completedFuture(null);

  LeasedTask(SagaWorker worker, Task task, long arrived) {
    this.worker = worker;
    this.task = task;
    long vt = worker.visibilityTimeout().toNanos();
    this.cadenceNs = vt / 3;
    this.retryNs = Math.min(vt / 10, TimeUnit.SECONDS.toNanos(1));
    this.nextBeat = arrived + cadenceNs;
  }

  void start(ExecutorService pool) {
    synchronized (this) {
      handler = pool.submit(this::runHandler);
    }
    scheduleBeat(nextBeat);
  }

  private synchronized boolean isRunning() {
    return state == State.RUNNING;
  }

  /** Moves out of RUNNING; false when another outcome came first. */
  private synchronized boolean leave(State next) {
    if (state != State.RUNNING) {
      return false;
    }
    state = next;
    return true;
  }

  private void runHandler() {
    try {
      JsonNode output = worker.options.handler().handle(task);
      if (leave(State.DONE)) {
        CompleteTaskParams.Builder params = CompleteTaskParams.builder().workerId(worker.workerId);
        if (output != null) {
          params.output(output);
        }
        report(() -> worker.sagas.completeTask(task.taskId(), params.build()));
      }
    } catch (NonRetryableTaskException e) {
      fail(e, true);
    } catch (Exception | Error e) {
      fail(e, false);
    } finally {
      worker.finished(this);
    }
  }

  private void fail(Throwable error, boolean nonRetryable) {
    if (!leave(State.DONE)) {
      return; // cancelled by the worker: never reported as a failure
    }
    String message = error.getClass().getSimpleName() + ": " + error.getMessage();
    if (message.length() > MAX_ERROR_MESSAGE) {
      message = message.substring(0, MAX_ERROR_MESSAGE);
    }
    FailTaskParams params =
        FailTaskParams.builder()
            .workerId(worker.workerId)
            .errorMessage(message)
            .nonRetryable(nonRetryable)
            .build();
    report(() -> worker.sagas.failTask(task.taskId(), params));
  }

  /** Sends an outcome with the SDK's retries; a final failure is logged (§2.4). */
  private void report(Runnable call) {
    boolean interrupted = Thread.interrupted();
    try {
      call.run();
    } catch (ConcordException e) {
      if (SagaWorker.stopsWorker(e)) {
        worker.stop(e);
      }
      worker.log(Level.WARNING, "reporting task " + task.taskId() + " failed: " + e);
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void scheduleBeat(long at) {
    try {
      worker.heartbeats.schedule(
          this::beat, Math.max(0, at - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // The worker stopped.
    }
  }

  /** One heartbeat (§2.3), then the next is scheduled by its answer. */
  private void beat() {
    if (!isRunning()) {
      return;
    }
    HeartbeatTaskParams params =
        HeartbeatTaskParams.builder()
            .workerId(worker.workerId)
            .visibilityTimeout(worker.visibilityTimeout())
            .build();
    RequestOptions call =
        RequestOptions.builder().maxRetries(0).timeout(Duration.ofNanos(cadenceNs)).build();
    synchronized (this) {
      if (state != State.RUNNING) {
        return;
      }
      beating =
          worker
              .async
              .heartbeatTask(task.taskId(), params, call)
              .whenComplete((answer, failure) -> afterBeat(failure));
    }
  }

  private void afterBeat(Throwable failure) {
    Throwable e =
        failure instanceof java.util.concurrent.CompletionException ? failure.getCause() : failure;
    if (e == null) {
      nextBeat += cadenceNs;
      scheduleBeat(Math.max(nextBeat, System.nanoTime()));
    } else if (e instanceof TaskLeaseLostException || e instanceof NotFoundException) {
      if (leave(State.LEASE_LOST)) {
        worker.log(Level.WARNING, "task " + task.taskId() + ": lease lost; handler cancelled");
        cancelHandler();
      }
    } else if (SagaWorker.stopsWorker(e)) {
      worker.stop((ConcordException) e);
      scheduleBeat(System.nanoTime() + cadenceNs);
    } else if (SagaWorker.isTransient(e)) {
      scheduleBeat(System.nanoTime() + retryNs);
    } else {
      worker.log(Level.WARNING, "heartbeat of task " + task.taskId() + " failed: " + e);
      nextBeat += cadenceNs;
      scheduleBeat(Math.max(nextBeat, System.nanoTime()));
    }
  }

  private synchronized void cancelHandler() {
    if (handler != null) {
      handler.cancel(true);
    }
  }

  /**
   * Ends the lease at once so the server offers the task again; never reports (§2.5). A heartbeat
   * in flight is waited for first (at most its timeout), so that it cannot renew the lease after
   * the hand-back.
   */
  void handBack() {
    CompletableFuture<?> inFlight;
    synchronized (this) {
      if (state != State.RUNNING) {
        return;
      }
      state = State.HANDED_BACK;
      inFlight = beating;
    }
    cancelHandler();
    try {
      inFlight.get(cadenceNs, TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (java.util.concurrent.ExecutionException
        | java.util.concurrent.TimeoutException
        | java.util.concurrent.CancellationException e) {
      // The heartbeat failed or is no longer waited for: the hand-back goes ahead.
    }
    HeartbeatTaskParams params =
        HeartbeatTaskParams.builder()
            .workerId(worker.workerId)
            .visibilityTimeout(Duration.ofMillis(1))
            .build();
    try {
      worker.sagas.heartbeatTask(task.taskId(), params);
    } catch (ConcordException e) {
      worker.log(Level.WARNING, "handing back task " + task.taskId() + " failed: " + e);
    }
  }
}
