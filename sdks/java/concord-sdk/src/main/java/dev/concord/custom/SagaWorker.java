package dev.concord.custom;

import dev.concord.core.ClientConfig;
import dev.concord.core.Logging;
import dev.concord.core.RequestOptions;
import dev.concord.errors.ApiException;
import dev.concord.errors.ConcordException;
import dev.concord.errors.InvalidArgumentException;
import dev.concord.errors.PermissionDeniedException;
import dev.concord.errors.UnauthenticatedException;
import dev.concord.models.PollTasksParams;
import dev.concord.models.PollTasksResponse;
import dev.concord.models.Task;
import dev.concord.resources.SagasAsyncResource;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Leases saga tasks, runs a handler on each, keeps their leases alive and reports the outcomes
 * (docs/sdk-helpers.md §2). {@link #run()} blocks until {@link #close()} (from another thread) or a
 * stopping error; running handlers get {@code shutdownGrace} to finish, and tasks still running
 * then are handed back to the server.
 *
 * <pre>{@code
 * try (SagaWorker worker = client.sagas().worker(List.of("charge-card"), task -> charge(task))) {
 *   executor.submit(worker::run);
 *   ...
 * } // close(): stop leasing, let handlers finish, hand back the rest
 * }</pre>
 */
public final class SagaWorker implements AutoCloseable {
  private static final long MAX_BACKOFF_MS = 30_000;

  /** Polls that come back empty start at most this often. */
  private static final long IDLE_POLL_INTERVAL_MS = 1_000;

  final SagasResource sagas;
  final SagasAsyncResource async;
  final WorkerOptions options;
  final String workerId;
  final ScheduledExecutorService heartbeats;
  private final ClientConfig config;
  private final ExecutorService handlers;
  private final Semaphore slots;
  private final Set<LeasedTask> running = ConcurrentHashMap.newKeySet();
  private final CountDownLatch shutdown = new CountDownLatch(1);
  private final CountDownLatch finished = new CountDownLatch(1);
  private final AtomicReference<ConcordException> stopError = new AtomicReference<>();
  private volatile CompletableFuture<PollTasksResponse> poll;
  private volatile boolean started;

  SagaWorker(
      SagasResource sagas, SagasAsyncResource async, ClientConfig config, WorkerOptions options) {
    this.sagas = sagas;
    this.async = async;
    this.config = config;
    this.options = options;
    this.workerId = options.workerId().filter(id -> !id.isEmpty()).orElseGet(Identity::fresh);
    this.slots = new Semaphore(options.concurrency());
    this.handlers = Executors.newFixedThreadPool(options.concurrency(), daemon("concord-task"));
    this.heartbeats = Executors.newSingleThreadScheduledExecutor(daemon("concord-heartbeat"));
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  /** The worker's identity, sent with every call. */
  public String workerId() {
    return workerId;
  }

  /**
   * Runs until {@link #close()} or a stopping error ({@code UNAUTHENTICATED}, {@code
   * PERMISSION_DENIED}, or {@code INVALID_ARGUMENT} from a poll), which is then thrown after the
   * graceful shutdown. Runs once per worker.
   */
  public void run() {
    synchronized (this) {
      if (started) {
        throw new IllegalStateException("a SagaWorker runs once");
      }
      started = true;
    }
    try {
      lease();
      drain();
    } finally {
      handlers.shutdownNow();
      heartbeats.shutdownNow();
      finished.countDown();
    }
    ConcordException error = stopError.get();
    if (error != null) {
      throw error;
    }
  }

  /** Begins the shutdown and waits for {@link #run()} to return (grace period included). */
  @Override
  public void close() {
    beginShutdown();
    synchronized (this) {
      if (!started) {
        started = true;
        handlers.shutdownNow();
        heartbeats.shutdownNow();
        finished.countDown();
      }
    }
    try {
      finished.await(
          options.shutdownGrace().toMillis() + config.timeout().toMillis() * 2,
          TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** True once the shutdown began. */
  public boolean isShuttingDown() {
    return shutdown.getCount() == 0;
  }

  void beginShutdown() {
    shutdown.countDown();
    CompletableFuture<PollTasksResponse> pending = poll;
    if (pending != null) {
      pending.cancel(true);
    }
  }

  /** Stops the worker with an error that retrying cannot fix (§2.6). */
  void stop(ConcordException error) {
    if (stopError.compareAndSet(null, error)) {
      log(Level.ERROR, "stopping: " + error);
    }
    beginShutdown();
  }

  static boolean stopsWorker(Throwable e) {
    return e instanceof UnauthenticatedException || e instanceof PermissionDeniedException;
  }

  /** Polls while slots are free, until the shutdown begins (§2.2). */
  private void lease() {
    int failures = 0;
    while (!isShuttingDown()) {
      int free = takeSlots();
      if (free == 0) {
        continue;
      }
      try {
        long started = System.nanoTime();
        List<Task> tasks = pollOnce(free);
        long arrived = System.nanoTime();
        failures = 0;
        slots.release(free - Math.min(free, tasks.size()));
        tasks.forEach(task -> start(task, arrived));
        if (tasks.isEmpty()) { // empty polls start at most once a second; close() ends the pause
          pause(idlePause(started));
        }
      } catch (CancellationException e) {
        slots.release(free);
      } catch (RuntimeException e) {
        slots.release(free);
        if (stopsWorker(e) || e instanceof InvalidArgumentException) {
          stop((ConcordException) e);
          return;
        }
        log(Level.WARNING, "polling failed: " + e);
        pause(backoff(failures++));
      }
    }
  }

  /** Waits for at least one free slot; returns every free slot (at most 100), 0 at shutdown. */
  private int takeSlots() {
    try {
      while (!slots.tryAcquire(100, TimeUnit.MILLISECONDS)) {
        if (isShuttingDown()) {
          return 0;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      beginShutdown();
      return 0;
    }
    int taken = 1 + Math.min(slots.drainPermits(), 99);
    if (isShuttingDown()) { // a handler that ended after the stop freed this slot: no more polls
      slots.release(taken);
      return 0;
    }
    return taken;
  }

  private List<Task> pollOnce(int free) {
    PollTasksParams params =
        PollTasksParams.builder()
            .workerId(workerId)
            .taskTypes(options.taskTypes())
            .maxTasks(free)
            .visibilityTimeout(options.visibilityTimeout())
            .waitTimeout(options.waitTimeout())
            .build();
    RequestOptions call =
        RequestOptions.builder().timeout(options.waitTimeout().plus(config.timeout())).build();
    CompletableFuture<PollTasksResponse> pending = async.pollTasks(params, call);
    poll = pending;
    if (isShuttingDown()) {
      pending.cancel(true);
    }
    try {
      return pending.get().tasks();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      throw cause instanceof RuntimeException
          ? (RuntimeException) cause
          : new ConcordException(cause.toString(), cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      beginShutdown();
      throw new CancellationException("interrupted");
    }
  }

  /** Starts a leased task's handler, or hands it back when the shutdown already began. */
  private void start(Task task, long arrived) {
    LeasedTask leased = new LeasedTask(this, task, arrived);
    if (isShuttingDown()) {
      leased.handBack();
      slots.release();
      return;
    }
    running.add(leased);
    leased.start(handlers);
  }

  /** Called by a task when its handler is done. */
  void finished(LeasedTask task) {
    running.remove(task);
    slots.release();
  }

  /** Lets running handlers finish within the grace period, then hands back the rest (§2.5). */
  private void drain() {
    long deadline = System.nanoTime() + options.shutdownGrace().toNanos();
    while (!running.isEmpty() && System.nanoTime() < deadline) {
      sleep(Math.min(50, Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()))));
    }
    for (LeasedTask task : running) {
      task.handBack();
    }
  }

  private static long backoff(int failures) {
    long base = Math.min(MAX_BACKOFF_MS, 1000L << Math.min(failures, 5));
    return (long) (base * (1 - 0.25 * ThreadLocalRandom.current().nextDouble()));
  }

  /** The pause after an empty poll that started at {@code started}: until a second after it. */
  private static long idlePause(long started) {
    long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    return Math.max(0, IDLE_POLL_INTERVAL_MS - elapsed);
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void pause(long millis) {
    try {
      shutdown.await(millis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      beginShutdown();
    }
  }

  Duration visibilityTimeout() {
    return options.visibilityTimeout();
  }

  void log(Level level, String message) {
    Logging.LOGGER.log(level, "worker " + workerId + ": " + message);
  }

  static boolean isTransient(Throwable e) {
    return e instanceof dev.concord.errors.ConnectionException
        || (e instanceof ApiException && ((ApiException) e).isRetryable());
  }
}
