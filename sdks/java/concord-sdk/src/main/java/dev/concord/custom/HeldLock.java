package dev.concord.custom;

import dev.concord.core.ClientConfig;
import dev.concord.core.Logging;
import dev.concord.core.RequestOptions;
import dev.concord.core.RetryPolicy;
import dev.concord.errors.ApiException;
import dev.concord.errors.ConcordException;
import dev.concord.errors.ConnectionException;
import dev.concord.errors.LockExpiredException;
import dev.concord.errors.LockNotHeldException;
import dev.concord.models.AcquireLockParams;
import dev.concord.models.Lock;
import dev.concord.models.ReleaseLockParams;
import dev.concord.models.RenewLockParams;
import dev.concord.models.RenewLockResponse;
import dev.concord.resources.LocksAsyncResource;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A lock held for the length of a try-with-resources block (docs/sdk-helpers.md §1): acquired by
 * {@link LocksResource#hold}, renewed in the background, released by {@link #close()}. When it can
 * no longer be trusted it is <em>lost</em>: {@link #isLost()} turns true, {@link #onLost(Runnable)}
 * callbacks run, and closing throws {@link LockLostException}. Java cannot interrupt the block
 * safely, so long work should check {@link #check()} between steps.
 *
 * <pre>{@code
 * try (HeldLock lock = client.locks().hold("nightly-report")) {
 *   storage.write(data, lock.fencingToken());
 * }
 * }</pre>
 */
public final class HeldLock implements AutoCloseable {
  private static final Duration RELEASE_BUDGET = Duration.ofSeconds(5);

  private final LocksAsyncResource locks;
  private final ClientConfig config;
  private final String name;
  private final String owner;
  private final long ttlNs;
  private final long marginNs;
  private final long retryNs;
  private final Object renewals = new Object();
  private final ScheduledExecutorService timer;
  private final List<Runnable> lostCallbacks = new ArrayList<>();
  private volatile Lock lock;
  private long base;
  private long deadline;
  private Throwable lastTransient;
  private volatile boolean stopped;
  private boolean ended;
  private boolean lost;
  private boolean gone;
  private Throwable lostCause;
  private volatile CompletableFuture<?> inFlight;

  private HeldLock(
      LocksAsyncResource locks, ClientConfig config, String name, String owner, Duration ttl) {
    this.locks = locks;
    this.config = config;
    this.name = name;
    this.owner = owner;
    this.ttlNs = ttl.toNanos();
    this.marginNs = Math.min(ttlNs / 5, TimeUnit.SECONDS.toNanos(5));
    this.retryNs = Math.min(ttlNs / 10, TimeUnit.SECONDS.toNanos(1));
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "concord-hold-" + name);
              t.setDaemon(true);
              return t;
            });
  }

  static HeldLock acquire(
      dev.concord.resources.LocksResource sync,
      LocksAsyncResource async,
      ClientConfig config,
      String name,
      HoldOptions options) {
    String owner = options.owner().filter(o -> !o.isEmpty()).orElseGet(Identity::fresh);
    HeldLock hold = new HeldLock(async, config, name, owner, options.ttl());
    AcquireLockParams.Builder params = AcquireLockParams.builder().owner(owner).ttl(options.ttl());
    RequestOptions.Builder call = RequestOptions.builder();
    options
        .waitTimeout()
        .ifPresent(
            wait -> {
              params.waitTimeout(wait);
              call.timeout(wait.plus(config.timeout()));
            });
    long sent = System.nanoTime();
    try {
      hold.lock = grant(sync.acquire(name, params.build(), call.build()).lock());
      long arrived = System.nanoTime();
      synchronized (hold.renewals) {
        hold.base = sent;
        hold.deadline = sent + hold.ttlNs - hold.marginNs;
        if (arrived - sent > hold.ttlNs / 3) {
          hold.confirm(arrived);
        }
      }
    } catch (RuntimeException e) {
      hold.timer.shutdownNow();
      throw e;
    }
    long first;
    synchronized (hold.renewals) {
      first = options.autoRenew() ? hold.base + hold.ttlNs / 3 : hold.deadline;
    }
    hold.schedule(first, options.autoRenew());
    return hold;
  }

  private static Lock grant(java.util.Optional<Lock> lock) {
    return lock.orElseThrow(() -> new ConcordException("the server granted no lock"));
  }

  /** The lock's name. */
  public String name() {
    return name;
  }

  /** The owner this hold acquired the lock as. */
  public String owner() {
    return owner;
  }

  /** The fencing token of the grant: pass it to the storage the lock protects. */
  public long fencingToken() {
    return lock.fencingToken();
  }

  /** The latest grant or renewal (expiry and TTL as the server reported them). */
  public Lock lock() {
    return lock;
  }

  /** True once the lock can no longer be trusted. */
  public synchronized boolean isLost() {
    return lost;
  }

  /** Throws {@link LockLostException} when the lock is lost; for long work between steps. */
  public void check() {
    synchronized (this) {
      if (!lost) {
        return;
      }
    }
    throw new LockLostException(name, lostCause);
  }

  /** Runs {@code callback} once when the lock is lost (at once if it already is), on any thread. */
  public void onLost(Runnable callback) {
    synchronized (this) {
      if (!lost) {
        lostCallbacks.add(callback);
        return;
      }
    }
    callback.run();
  }

  /**
   * Renews the lock now for {@code ttl} (serialised with the background renewals; moves the local
   * deadline). A final error loses the hold and is thrown.
   */
  public Lock renew(Duration ttl) {
    synchronized (renewals) {
      long t = System.nanoTime();
      try {
        lock = grant(call(locks.renew(name, renewParams(ttl), RequestOptions.none())).lock());
      } catch (RuntimeException e) {
        if (!isTransient(e)) {
          lose(e, true);
        }
        throw e;
      }
      base = t;
      deadline = t + ttl.toNanos() - Math.min(ttl.toNanos() / 5, TimeUnit.SECONDS.toNanos(5));
      return lock;
    }
  }

  /** Renews the lock now for the hold's TTL. */
  public Lock renew() {
    return renew(Duration.ofNanos(ttlNs));
  }

  /**
   * Releases the lock now, throwing every failure ({@link LockLostException} when it was lost); a
   * second call, or closing afterwards, does nothing.
   */
  public void release() {
    end(true);
  }

  /**
   * Stops renewing and releases the lock (even when the thread is interrupted, within 5 s). Throws
   * {@link LockLostException} when the lock was lost during the block; a release that fails
   * transiently is logged, and the lock lapses at its TTL.
   */
  @Override
  public void close() {
    end(false);
  }

  private void end(boolean explicit) {
    synchronized (this) {
      if (ended) {
        return;
      }
      ended = true;
    }
    stopped = true;
    CompletableFuture<?> pending = inFlight;
    if (pending != null) {
      pending.cancel(true);
    }
    timer.shutdownNow();
    boolean skip;
    synchronized (this) {
      skip = gone;
    }
    if (!skip) {
      releaseOnce(explicit);
    }
    synchronized (this) {
      if (lost) {
        throw new LockLostException(name, lostCause);
      }
    }
  }

  private void releaseOnce(boolean explicit) {
    ReleaseLockParams params =
        ReleaseLockParams.builder().owner(owner).fencingToken(lock.fencingToken()).build();
    boolean interrupted = Thread.interrupted();
    CompletableFuture<?> release =
        locks.release(name, params, RequestOptions.builder().timeout(RELEASE_BUDGET).build());
    try {
      release.get(RELEASE_BUDGET.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof LockNotHeldException || cause instanceof LockExpiredException) {
        lose(cause, true);
      } else if (explicit || !isTransient(cause)) {
        throw cause instanceof RuntimeException
            ? (RuntimeException) cause
            : new ConcordException(cause.toString(), cause);
      } else {
        warn("releasing failed (the lock lapses at its TTL): " + cause);
      }
    } catch (TimeoutException e) {
      release.cancel(true);
      if (explicit) {
        throw new ConnectionException("ReleaseLock: no answer within 5 s", true, e);
      }
      warn("releasing got no answer within 5 s (the lock lapses at its TTL)");
    } catch (InterruptedException e) {
      interrupted = true;
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Confirms a grant that arrived late by renewing it at once (§1.2); caller holds renewals. */
  private void confirm(long arrived) {
    deadline = arrived + ttlNs - marginNs;
    while (true) {
      long t = System.nanoTime();
      if (t >= deadline) {
        failConfirmation(lastTransient);
      }
      try {
        renewOnce(t);
        return;
      } catch (RuntimeException e) {
        if (!isTransient(e)) {
          failConfirmation(e);
        }
        remember(e, t);
        sleepNanos(Math.min(retryDelay(e), deadline - System.nanoTime()));
      }
    }
  }

  /** The grant could not be confirmed: released as far as possible, then the lost error. */
  private void failConfirmation(Throwable cause) {
    lose(cause, cause != null && !isTransient(cause));
    end(false);
    throw new LockLostException(name, cause);
  }

  private void schedule(long atNanos, boolean renew) {
    if (stopped) {
      return;
    }
    long delay = Math.max(0, atNanos - System.nanoTime());
    try {
      timer.schedule(renew ? this::tick : this::watch, delay, TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // The hold ended meanwhile.
    }
  }

  /** One background renewal (§1.3), then the next one is scheduled. */
  private void tick() {
    long next;
    synchronized (renewals) {
      long t = System.nanoTime();
      if (stopped || isLost()) {
        return;
      }
      if (t >= deadline) {
        lose(lastTransient, false);
        return;
      }
      try {
        renewOnce(t);
        lastTransient = null;
        next = base + ttlNs / 3;
      } catch (CancellationException e) {
        return;
      } catch (RuntimeException e) {
        if (stopped) {
          return;
        }
        if (!isTransient(e)) {
          lose(e, true);
          return;
        }
        remember(e, t);
        next = Math.min(System.nanoTime() + retryDelay(e), deadline);
      }
    }
    schedule(next, true);
  }

  /** Without auto-renewal: declares the hold lost when the local deadline passes. */
  private void watch() {
    long next;
    synchronized (renewals) {
      if (stopped || isLost()) {
        return;
      }
      if (System.nanoTime() >= deadline) {
        lose(null, false);
        return;
      }
      next = deadline;
    }
    schedule(next, false);
  }

  /** One renewal without SDK retries, bounded by the remaining lease; caller holds renewals. */
  private void renewOnce(long t) {
    long left = deadline - t;
    Duration timeout = Duration.ofNanos(Math.min(config.timeout().toNanos(), left));
    RequestOptions options = RequestOptions.builder().maxRetries(0).timeout(timeout).build();
    CompletableFuture<RenewLockResponse> future =
        locks.renew(name, renewParams(Duration.ofNanos(ttlNs)), options);
    inFlight = future;
    lock = grant(call(future).lock());
    base = t;
    deadline = t + ttlNs - marginNs;
  }

  /**
   * Keeps a transient renewal failure as the cause a loss will name, unless it is the timeout of a
   * call the remaining lease cut short (sent at {@code t}): that call got no answer before the
   * deadline, and the last failure a renewal did get stays the cause. Caller holds renewals.
   */
  private void remember(RuntimeException failure, long t) {
    boolean cutByDeadline = deadline - t < config.timeout().toNanos();
    if (!(cutByDeadline
        && failure instanceof ConnectionException
        && ((ConnectionException) failure).isTimeout())) {
      lastTransient = failure;
    }
  }

  private RenewLockParams renewParams(Duration ttl) {
    return RenewLockParams.builder()
        .owner(owner)
        .fencingToken(lock.fencingToken())
        .ttl(ttl)
        .build();
  }

  private static <T> T call(CompletableFuture<T> future) {
    try {
      return future.get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      throw cause instanceof RuntimeException
          ? (RuntimeException) cause
          : new ConcordException(cause.toString(), cause);
    } catch (InterruptedException e) {
      future.cancel(true);
      Thread.currentThread().interrupt();
      throw new CancellationException("interrupted");
    }
  }

  private long retryDelay(Throwable failure) {
    if (failure instanceof ApiException) {
      return ((ApiException) failure)
          .header("retry-after")
          .flatMap(v -> RetryPolicy.retryAfter(v, Instant.now()))
          .map(Duration::toNanos)
          .orElse(retryNs);
    }
    return retryNs;
  }

  private static boolean isTransient(Throwable failure) {
    return failure instanceof ConnectionException
        || (failure instanceof ApiException && ((ApiException) failure).isRetryable());
  }

  private void lose(Throwable cause, boolean lockGone) {
    List<Runnable> callbacks;
    synchronized (this) {
      if (lost) {
        return;
      }
      lost = true;
      gone = lockGone;
      lostCause = cause;
      callbacks = new ArrayList<>(lostCallbacks);
      lostCallbacks.clear();
    }
    warn("lost: " + (cause == null ? "no renewal answered in time" : cause.toString()));
    for (Runnable callback : callbacks) {
      try {
        callback.run();
      } catch (RuntimeException e) {
        warn("an onLost callback failed: " + e);
      }
    }
  }

  private void warn(String message) {
    Logging.LOGGER.log(Level.WARNING, "lock " + name + ": " + message);
  }

  private static void sleepNanos(long nanos) {
    if (nanos <= 0) {
      return;
    }
    try {
      TimeUnit.NANOSECONDS.sleep(nanos);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CancellationException("interrupted");
    }
  }
}
