/**
 * `client.sagas.worker(...)`: the saga task worker (hand-written), following
 * docs/sdk-helpers.md §2: it leases at most as many tasks as it runs at once, heartbeats every
 * leased task, reports each outcome, and on shutdown stops leasing, lets running handlers finish
 * within a grace period and hands back the ones that do not.
 *
 * ```ts
 * const worker = client.sagas.worker({ taskTypes: ['charge-card'], handler: async (task) => ({ ok: true }) });
 * await worker.run(controller.signal); // until controller.abort()
 * ```
 */

import { ConcordError } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import { backoffMs } from '../core/retries.js';
import { duration, type JsonValue } from '../core/wire.js';
import type { Task } from '../models/sagas.js';
import { SagasResource as GeneratedSagasResource } from '../resources/sagas.js';
import { defaultIdentity, hasCode, isTransient, sleepUntil } from './support.js';

/** What a handler gets besides the task: a signal the worker aborts when the task is taken away. */
export interface TaskContext {
  /** Aborts when the lease is lost or the shutdown grace ended: stop and return. */
  signal: AbortSignal;
}

/**
 * Runs one task: its return value completes it (`undefined` without output, `null` as JSON
 * null); a thrown error fails it (`NonRetryableTaskError` for good, others per the retry policy).
 */
export type TaskHandler = (task: Task, context: TaskContext) => TaskResult | Promise<TaskResult>;

/** What a handler returns: the task's output, or nothing (an async handler may just return). */
// biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing is valid.
export type TaskResult = JsonValue | undefined | void;

/** Options of `client.sagas.worker`. */
export interface WorkerOptions {
  /** The task types this worker runs (1 to 50). */
  taskTypes: string[];
  /** Runs each task. */
  handler: TaskHandler;
  /** Handlers running at once, and so the most tasks leased at once (default 1). */
  concurrency?: number | undefined;
  /** Lease length sent on every poll and heartbeat, in milliseconds (default 30000). */
  visibilityTimeoutMs?: number | undefined;
  /**
   * How long one poll waits on the server for a task, in milliseconds (default 20000). Polls that
   * come back empty start at most once a second, so 0 polls once a second while idle.
   */
  waitTimeoutMs?: number | undefined;
  /** How long running handlers may go on after shutdown began, in milliseconds (default 20000). */
  shutdownGraceMs?: number | undefined;
  /** The worker's identity (default `<host>-<pid>-<8 random hex digits>`). */
  workerId?: string | undefined;
}

/** Thrown by a handler: the task fails for good, without further attempts. */
export class NonRetryableTaskError extends ConcordError {}

/** Codes that stop the worker (from a poll; the first two from any call). */
const STOP_ALWAYS = ['UNAUTHENTICATED', 'PERMISSION_DENIED'];
const MAX_ERROR_MESSAGE = 4000;
/** Polls that come back empty start at most this often, in milliseconds. */
const IDLE_POLL_INTERVAL_MS = 1_000;

/** `client.sagas` with `worker()`. */
export class SagasResource extends GeneratedSagasResource {
  /** A worker running `handler` on the tasks of `taskTypes`; start it with `run(signal)`. */
  worker(options: WorkerOptions): SagaWorker {
    const core = this._client;
    return new SagaWorker(this, options, core.timeoutMs, core.logger);
  }
}

/** One task a worker runs. */
interface Running {
  task: Task;
  /** Aborts the handler's signal (lease lost, or handed back). */
  cancel: AbortController;
  /** Ends the heartbeats (the handler ended, or the task is handed back). */
  beats: AbortController;
  /** Aborts a heartbeat in flight: only when the handler ended, never at a hand-back. */
  beatCall: AbortController;
  heartbeats: Promise<void>;
  done: Promise<void>;
  discard: boolean;
}

/** A saga task worker; `run(signal)` works until the signal aborts or a stopping error. */
export class SagaWorker {
  /** The worker's identity. */
  readonly workerId: string;
  readonly #sagas: GeneratedSagasResource;
  readonly #options: WorkerOptions;
  readonly #concurrency: number;
  readonly #visibilityMs: number;
  readonly #waitMs: number;
  readonly #graceMs: number;
  readonly #timeoutMs: number;
  readonly #logger: Logger | undefined;
  readonly #running = new Map<string, Running>();
  readonly #handingBack = new Set<Promise<void>>();
  #shutdown = new AbortController();
  #stopError: unknown;
  #changed: () => void = () => {};

  /** Made by `client.sagas.worker`. */
  constructor(
    sagas: GeneratedSagasResource,
    options: WorkerOptions,
    timeoutMs: number,
    logger: Logger | undefined,
  ) {
    if (options.taskTypes.length === 0) {
      throw new RangeError('taskTypes must name at least one task type');
    }
    this.#sagas = sagas;
    this.#options = options;
    this.workerId = options.workerId ?? defaultIdentity();
    this.#concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
    this.#visibilityMs = options.visibilityTimeoutMs ?? 30_000;
    this.#waitMs = Math.min(options.waitTimeoutMs ?? 20_000, 60_000);
    this.#graceMs = options.shutdownGraceMs ?? 20_000;
    this.#timeoutMs = timeoutMs;
    this.#logger = logger;
  }

  /**
   * Polls and runs tasks until `signal` aborts (then shuts down gracefully and resolves) or a
   * stopping error (UNAUTHENTICATED, PERMISSION_DENIED; INVALID_ARGUMENT from a poll), with
   * which it rejects after the same graceful shutdown.
   */
  async run(signal?: AbortSignal): Promise<void> {
    this.#shutdown = new AbortController();
    this.#stopError = undefined;
    const onAbort = (): void => this.#shutdown.abort();
    if (signal?.aborted) {
      onAbort();
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.#pollLoop();
      await this.#drain();
      await Promise.all(this.#handingBack);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (this.#stopError !== undefined) {
      throw this.#stopError;
    }
  }

  /** Leases tasks while slots are free, until shutdown. */
  async #pollLoop(): Promise<void> {
    let failures = 0;
    while (!this.#shutdown.signal.aborted) {
      const free = this.#concurrency - this.#running.size;
      if (free <= 0) {
        await this.#slotFreed();
        continue;
      }
      const started = performance.now();
      try {
        const { tasks } = await this.#sagas.pollTasks(
          {
            worker_id: this.workerId,
            task_types: this.#options.taskTypes,
            max_tasks: Math.min(free, 100),
            visibility_timeout: duration(this.#visibilityMs),
            wait_timeout: duration(this.#waitMs),
          },
          { timeoutMs: this.#waitMs + this.#timeoutMs, signal: this.#shutdown.signal },
        );
        const arrived = performance.now();
        failures = 0;
        for (const task of tasks) {
          this.#start(task, arrived);
        }
        if (tasks.length === 0) {
          // empty polls start at most once a second; shutdown ends the pause
          await sleepUntil(started + IDLE_POLL_INTERVAL_MS, this.#shutdown.signal);
        }
      } catch (error) {
        if (this.#shutdown.signal.aborted) {
          return;
        }
        if (hasCode(error, ...STOP_ALWAYS, 'INVALID_ARGUMENT')) {
          this.#stop(error);
          return;
        }
        this.#logger?.warn(`worker ${this.workerId}: poll failed: ${String(error)}`);
        await sleepUntil(
          performance.now() + backoffMs(failures++, 1_000, 30_000),
          this.#shutdown.signal,
        );
      }
    }
  }

  /** Resolves when a running task ends or shutdown begins. */
  #slotFreed(): Promise<void> {
    const signal = this.#shutdown.signal;
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        this.#changed = () => {};
        resolve();
      };
      this.#changed = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Starts the handler of a leased task (or hands it back after shutdown began). */
  #start(task: Task, arrived: number): void {
    if (this.#shutdown.signal.aborted) {
      const handing = this.#handBack(task);
      this.#handingBack.add(handing);
      void handing.finally(() => this.#handingBack.delete(handing));
      return;
    }
    const running: Running = {
      task,
      cancel: new AbortController(),
      beats: new AbortController(),
      beatCall: new AbortController(),
      heartbeats: Promise.resolve(),
      done: Promise.resolve(),
      discard: false,
    };
    running.done = this.#runTask(running, arrived).finally(() => {
      this.#running.delete(task.task_id);
      this.#changed();
    });
    this.#running.set(task.task_id, running);
  }

  /** Runs the handler with heartbeats, then reports its outcome. */
  async #runTask(running: Running, arrived: number): Promise<void> {
    running.heartbeats = this.#heartbeat(running, arrived, running.beats.signal);
    let output: unknown;
    let failure: unknown;
    let failed = false;
    try {
      output = await this.#options.handler(running.task, { signal: running.cancel.signal });
    } catch (error) {
      failure = error;
      failed = true;
    } finally {
      running.beats.abort();
      running.beatCall.abort();
      await running.heartbeats;
    }
    if (running.discard || running.cancel.signal.aborted) {
      return;
    }
    await this.#report(running.task, failed, output, failure);
  }

  /** Heartbeats a task every visibility/3 from its lease, until its handler ends. */
  async #heartbeat(running: Running, arrived: number, finished: AbortSignal): Promise<void> {
    const interval = this.#visibilityMs / 3;
    let next = arrived + interval;
    for (;;) {
      await sleepUntil(next, finished);
      if (finished.aborted || running.discard) {
        return;
      }
      try {
        await this.#sagas.heartbeatTask(
          running.task.task_id,
          { worker_id: this.workerId, visibility_timeout: duration(this.#visibilityMs) },
          { maxRetries: 0, timeoutMs: interval, signal: running.beatCall.signal },
        );
        next += interval;
      } catch (error) {
        if (finished.aborted) {
          return;
        }
        if (hasCode(error, 'TASK_LEASE_LOST', 'NOT_FOUND')) {
          this.#logger?.warn(`worker ${this.workerId}: lease of task ${running.task.task_id} lost`);
          running.discard = true;
          running.cancel.abort(error);
          return;
        }
        if (hasCode(error, ...STOP_ALWAYS)) {
          this.#stop(error);
        }
        next = performance.now() + Math.min(this.#visibilityMs / 10, 1_000);
      }
    }
  }

  /** CompleteTask or FailTask, with the SDK's retries, detached from the shutdown signal. */
  async #report(task: Task, failed: boolean, output: unknown, failure: unknown): Promise<void> {
    try {
      if (!failed) {
        const value = output === undefined ? {} : { output: output as JsonValue };
        await this.#sagas.completeTask(task.task_id, { worker_id: this.workerId, ...value });
      } else {
        await this.#sagas.failTask(task.task_id, {
          worker_id: this.workerId,
          error_message: describeError(failure).slice(0, MAX_ERROR_MESSAGE),
          non_retryable: failure instanceof NonRetryableTaskError,
        });
      }
    } catch (error) {
      if (hasCode(error, ...STOP_ALWAYS)) {
        this.#stop(error);
      }
      this.#logger?.warn(
        `worker ${this.workerId}: report of task ${task.task_id} failed: ${String(error)}`,
      );
    }
  }

  /** Hands a task back: its lease ends at once and the server offers it again (never FailTask). */
  async #handBack(task: Task): Promise<void> {
    try {
      await this.#sagas.heartbeatTask(task.task_id, {
        worker_id: this.workerId,
        visibility_timeout: duration(1),
      });
    } catch (error) {
      if (!isTransient(error) && !hasCode(error, 'TASK_LEASE_LOST', 'NOT_FOUND')) {
        this.#logger?.warn(
          `worker ${this.workerId}: hand-back of ${task.task_id} failed: ${String(error)}`,
        );
      }
    }
  }

  /**
   * Waits for running handlers up to the grace period, then hands back those still running once
   * their heartbeats have ended: one in flight is let finish within its timeout, as the server may
   * already be renewing the lease with it.
   */
  async #drain(): Promise<void> {
    const all = Promise.all([...this.#running.values()].map((r) => r.done));
    const grace = new AbortController();
    const timer = setTimeout(() => grace.abort(), this.#graceMs);
    await Promise.race([
      all,
      new Promise((resolve) => grace.signal.addEventListener('abort', resolve)),
    ]);
    clearTimeout(timer);
    const late = [...this.#running.values()];
    for (const running of late) {
      running.discard = true;
      running.cancel.abort(new ConcordError('the worker shut down'));
      running.beats.abort();
    }
    await Promise.all(
      late.map(async (running) => {
        await running.heartbeats;
        await this.#handBack(running.task);
      }),
    );
  }

  /** Stops the worker because of `error` (it is thrown by `run` after the shutdown). */
  #stop(error: unknown): void {
    if (this.#stopError === undefined) {
      this.#logger?.error(`worker ${this.workerId}: stopping: ${String(error)}`);
      this.#stopError = error;
    }
    this.#shutdown.abort();
  }
}

/** `Type: message` of a handler's error. */
function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
