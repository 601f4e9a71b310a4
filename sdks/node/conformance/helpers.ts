/**
 * The helper ops of the conformance adapter (docs/conformance.md, "Helper operations"):
 * `helper.HoldLock` runs a block inside `await using lock = await client.locks.hold(...)`,
 * `helper.RunWorker` runs `client.sagas.worker(...)` with a handler scripted by the task's input.
 * Only the SDK's public API is used.
 */

import {
  APIError,
  type Concord,
  durationToMs,
  type HeldLock,
  type JsonValue,
  LockLostError,
  NonRetryableTaskError,
  type Task,
  type TaskContext,
} from '@concord/sdk';
import type { Input } from './io.js';

/** The error a block throws when the case says `end: raise`. */
class BodyError extends Error {}

/** The caller's cancellation of the scope when the case says `end: cancel`. */
class CallerCancelled extends Error {}

/** Milliseconds of a contract duration (`"1.5s"`), or undefined when absent. */
function millis(value: unknown): number | undefined {
  return typeof value === 'string' && value !== '' ? durationToMs(value) : undefined;
}

/** Waits `ms` milliseconds; rejects with the signal's reason when it aborts first. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Rejects with the signal's reason once it aborts. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** Whether the lock is still held by this hold's owner with its fencing token. */
async function stillHeld(client: Concord, lock: HeldLock): Promise<boolean> {
  try {
    const { lock: current } = await client.locks.get(lock.name);
    return current?.owner === lock.owner && current?.fencing_token === lock.fencingToken;
  } catch (error) {
    if (error instanceof APIError) {
      return false;
    }
    throw error;
  }
}

/** The protocol's `lost_cause` of a LockLostError. */
function causeOf(error: LockLostError): unknown {
  const cause = error.cause;
  if (cause instanceof APIError) {
    return { code: cause.code };
  }
  return cause === undefined || cause === null ? null : { kind: 'connection' };
}

/**
 * The `exit` of an error the scope ended with. `await using` reports a block's error together
 * with the hold's loss as a SuppressedError: the block's error is what the scope ended with.
 */
function exitOf(error: unknown): { exit: string; lost_cause?: unknown } | undefined {
  const suppressed = error as { name?: string; suppressed?: unknown };
  if (error instanceof Error && suppressed.name === 'SuppressedError') {
    return exitOf(suppressed.suppressed);
  }
  if (error instanceof LockLostError) {
    return { exit: 'lock_lost', lost_cause: causeOf(error) };
  }
  if (error instanceof BodyError) {
    return { exit: 'body_error' };
  }
  return error instanceof CallerCancelled ? { exit: 'cancelled' } : undefined;
}

/** The block: `body_ms` long (shorter with `end_on_lost`), then it ends as the input says. */
async function block(
  client: Concord,
  lock: HeldLock,
  input: Input,
  result: Record<string, unknown>,
): Promise<void> {
  const bodyMs = Number(input.body_ms ?? 0);
  if (input.end === 'cancel') {
    const caller = new AbortController();
    setTimeout(() => caller.abort(new CallerCancelled('the caller cancelled')), bodyMs);
    await untilAborted(caller.signal); // the block's work, which only the caller ends
  }
  const ending = input.end_on_lost === true ? lock.signal : undefined;
  await pause(bodyMs, ending).catch(() => undefined);
  if (lock.lost) {
    result.lost_signalled = true;
    result.held_when_lost = await stillHeld(client, lock);
  }
  if (input.end === 'raise') {
    throw new BodyError('the block failed');
  }
}

/** `helper.HoldLock`: a block of `body_ms` inside the SDK's hold. */
export async function holdLock(client: Concord, input: Input): Promise<unknown> {
  const result: Record<string, unknown> = { lost_signalled: false, exit: 'ok' };
  try {
    await using lock = await client.locks.hold(String(input.name), {
      owner: typeof input.owner === 'string' ? input.owner : undefined,
      ttlMs: millis(input.ttl),
      waitTimeoutMs: millis(input.wait_timeout),
      autoRenew: input.auto_renew !== false,
    });
    result.lock = lock.lock;
    await block(client, lock, input, result);
  } catch (error) {
    const exit = exitOf(error);
    if (exit === undefined) {
      throw error; // the acquire failed: its error is the answer
    }
    Object.assign(result, exit);
  }
  return result;
}

/** What the scripted handler saw, and when to stop the worker. */
class Tally {
  started = 0;
  finished = 0;
  running = 0;
  maxConcurrent = 0;
  readonly tasks: unknown[] = [];

  constructor(
    private readonly input: Input,
    private readonly stop: () => void,
  ) {}

  begin(task: Task): void {
    this.started++;
    this.running++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.running);
    const { saga_id, step_name, phase, attempt } = task;
    this.tasks.push({ saga_id, step_name, phase, attempt });
    if (typeof this.input.stop_after_started === 'number') {
      if (this.started >= this.input.stop_after_started) {
        this.stop();
      }
    }
  }

  end(onItsOwn: boolean): void {
    this.running--;
    if (!onItsOwn) {
      return;
    }
    this.finished++;
    if (typeof this.input.stop_after_finished === 'number') {
      if (this.finished >= this.input.stop_after_finished) {
        this.stop();
      }
    }
  }
}

/** The task input's `script` entry for the task's attempt (an empty object without one). */
function scriptEntry(task: Task): Record<string, unknown> {
  const input = task.input as { script?: unknown } | null | undefined;
  const script = Array.isArray(input?.script) ? (input.script as unknown[]) : [];
  if (script.length === 0) {
    return {};
  }
  const entry = script[Math.min(task.attempt, script.length) - 1];
  return typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : {};
}

/** The handler of docs/conformance.md: sleep, then fail or return as the script says. */
function scripted(tally: Tally) {
  return async (task: Task, context: TaskContext): Promise<JsonValue> => {
    tally.begin(task);
    const entry = scriptEntry(task);
    try {
      await pause(Number(entry.sleep_ms ?? 0), context.signal);
    } catch (error) {
      tally.end(false);
      throw error;
    }
    tally.end(true);
    if (typeof entry.fail === 'string' && entry.fail !== '') {
      throw entry.non_retryable === true
        ? new NonRetryableTaskError(entry.fail)
        : new Error(entry.fail);
    }
    if ('output' in entry) {
      return entry.output as JsonValue;
    }
    return { step: task.step_name, attempt: task.attempt };
  };
}

/** `helper.RunWorker`: the SDK's worker until a stop condition, then its graceful shutdown. */
export async function runWorker(client: Concord, input: Input): Promise<unknown> {
  const shutdown = new AbortController();
  const tally = new Tally(input, () => shutdown.abort());
  const worker = client.sagas.worker({
    taskTypes: (input.task_types as string[] | undefined) ?? [],
    handler: scripted(tally),
    concurrency: typeof input.concurrency === 'number' ? input.concurrency : undefined,
    visibilityTimeoutMs: millis(input.visibility_timeout),
    waitTimeoutMs: millis(input.wait_timeout),
    shutdownGraceMs: millis(input.shutdown_grace),
  });
  const limit = setTimeout(() => shutdown.abort(), Number(input.max_ms ?? 30_000));
  try {
    await worker.run(shutdown.signal);
  } finally {
    clearTimeout(limit);
  }
  return {
    started: tally.started,
    finished: tally.finished,
    max_concurrent: tally.maxConcurrent,
    tasks: [...tally.tasks],
  };
}
