package dev.concord.custom;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** Options of a {@link SagaWorker} (docs/sdk-helpers.md §2.1). */
public final class WorkerOptions {
  /** The longest wait of one poll the contract accepts; a longer one is capped to it. */
  private static final Duration MAX_WAIT = Duration.ofSeconds(60);

  private final List<String> taskTypes;
  private final TaskHandler handler;
  private final int concurrency;
  private final Duration visibilityTimeout;
  private final Duration waitTimeout;
  private final Duration shutdownGrace;
  private final String workerId;

  private WorkerOptions(Builder b) {
    this.taskTypes = List.copyOf(b.taskTypes);
    this.handler = Objects.requireNonNull(b.handler, "handler");
    this.concurrency = b.concurrency;
    this.visibilityTimeout = b.visibilityTimeout;
    this.waitTimeout = b.waitTimeout;
    this.shutdownGrace = b.shutdownGrace;
    this.workerId = b.workerId;
  }

  /** A builder; task types and a handler are required. */
  public static Builder builder() {
    return new Builder();
  }

  /** The task types the worker runs. */
  public List<String> taskTypes() {
    return taskTypes;
  }

  /** The handler of every task. */
  public TaskHandler handler() {
    return handler;
  }

  /** Handlers running at once, and the most tasks leased at once. */
  public int concurrency() {
    return concurrency;
  }

  /** The lease length, sent on every poll and heartbeat. */
  public Duration visibilityTimeout() {
    return visibilityTimeout;
  }

  /** How long one poll waits on the server for a task. */
  public Duration waitTimeout() {
    return waitTimeout;
  }

  /** How long running handlers may go on after shutdown began. */
  public Duration shutdownGrace() {
    return shutdownGrace;
  }

  /** The worker's identity; empty for a fresh {@code <host>-<pid>-<random>}. */
  public Optional<String> workerId() {
    return Optional.ofNullable(workerId);
  }

  /** Builds {@link WorkerOptions}. */
  public static final class Builder {
    private List<String> taskTypes = List.of();
    private TaskHandler handler;
    private int concurrency = 1;
    private Duration visibilityTimeout = Duration.ofSeconds(30);
    private Duration waitTimeout = Duration.ofSeconds(20);
    private Duration shutdownGrace = Duration.ofSeconds(20);
    private String workerId;

    private Builder() {}

    /** The task types this worker runs (1 to 50). */
    public Builder taskTypes(String... taskTypes) {
      return taskTypes(List.of(taskTypes));
    }

    /** The task types this worker runs (1 to 50). */
    public Builder taskTypes(List<String> taskTypes) {
      if (taskTypes.isEmpty() || taskTypes.size() > 50) {
        throw new IllegalArgumentException("a worker runs 1 to 50 task types");
      }
      this.taskTypes = List.copyOf(taskTypes);
      return this;
    }

    /** The handler of every task. */
    public Builder handler(TaskHandler handler) {
      this.handler = Objects.requireNonNull(handler, "handler");
      return this;
    }

    /** Handlers running at once (default 1). */
    public Builder concurrency(int concurrency) {
      if (concurrency < 1) {
        throw new IllegalArgumentException("concurrency must be at least 1");
      }
      this.concurrency = concurrency;
      return this;
    }

    /** The lease length (default 30 s). */
    public Builder visibilityTimeout(Duration visibilityTimeout) {
      if (visibilityTimeout.isNegative() || visibilityTimeout.isZero()) {
        throw new IllegalArgumentException("visibilityTimeout must be positive");
      }
      this.visibilityTimeout = visibilityTimeout;
      return this;
    }

    /**
     * How long one poll waits for a task (default 20 s; a longer one is capped at 60 s). Polls that
     * come back empty start at most once a second, so zero polls once a second while idle.
     */
    public Builder waitTimeout(Duration waitTimeout) {
      if (waitTimeout.isNegative()) {
        throw new IllegalArgumentException("waitTimeout must not be negative");
      }
      this.waitTimeout = waitTimeout.compareTo(MAX_WAIT) > 0 ? MAX_WAIT : waitTimeout;
      return this;
    }

    /** How long running handlers may finish after shutdown began (default 20 s). */
    public Builder shutdownGrace(Duration shutdownGrace) {
      this.shutdownGrace = Objects.requireNonNull(shutdownGrace, "shutdownGrace");
      return this;
    }

    /** The worker's identity (default: fresh). */
    public Builder workerId(String workerId) {
      this.workerId = Objects.requireNonNull(workerId, "workerId");
      return this;
    }

    /** The options. */
    public WorkerOptions build() {
      if (taskTypes.isEmpty()) {
        throw new IllegalStateException("taskTypes are required");
      }
      return new WorkerOptions(this);
    }
  }
}
