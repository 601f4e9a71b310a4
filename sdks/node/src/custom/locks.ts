/**
 * `client.locks.hold(...)`: a lock held for the length of a scope (hand-written), following
 * docs/sdk-helpers.md §1: acquired once through the ordinary call path, renewed in the background
 * at TTL/3 against a local deadline on the monotonic clock, released on scope exit, with an
 * `AbortSignal` that aborts when the lock can no longer be trusted.
 *
 * ```ts
 * await using lock = await client.locks.hold('nightly-report', { ttlMs: 30_000 });
 * await store.write(row, { fencingToken: lock.fencingToken, signal: lock.signal });
 * ```
 */

import { APIError, APITimeoutError, APIUserAbortError, ConcordError } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import { duration } from '../core/wire.js';
import type { Lock } from '../models/locks.js';
import { LocksResource as GeneratedLocksResource } from '../resources/locks.js';
import { defaultIdentity, isTransient, retryDelayOf, sleepUntil } from './support.js';

/** Default TTL of a hold, in milliseconds. */
export const DEFAULT_HOLD_TTL_MS = 30_000;
/** How long the release on scope exit may take in all, in milliseconds. */
export const RELEASE_BOUND_MS = 5_000;

/** Options of `client.locks.hold`. */
export interface HoldOptions {
  /** The holder's identity (default `<host>-<pid>-<8 random hex digits>`, fresh per hold). */
  owner?: string | undefined;
  /** TTL of the grant and of every renewal, in milliseconds (default 30000). */
  ttlMs?: number | undefined;
  /** How long to wait in line when the lock is held, in milliseconds (default: fail at once). */
  waitTimeoutMs?: number | undefined;
  /** Renew in the background (default true); off, the grant simply lasts `ttlMs`. */
  autoRenew?: boolean | undefined;
  /** Aborts the acquire (a wait in line); it does not bound the hold afterwards. */
  signal?: AbortSignal | undefined;
}

/** The hold of a lock ended or can no longer be trusted: another owner may have it now. */
export class LockLostError extends ConcordError {
  /** The lock's name. */
  readonly lockName: string;

  /** Creates the error of a lost hold, with the failure that caused it, if any. */
  constructor(lockName: string, cause?: unknown) {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    super(`the hold of lock ${lockName} was lost${detail}`, { cause });
    this.lockName = lockName;
  }
}

/** What a hold needs of the client (the resource's own calls, and its settings). */
interface HoldClient {
  locks: GeneratedLocksResource;
  timeoutMs: number;
  logger: Logger | undefined;
}

/** `client.locks` with `hold()`. */
export class LocksResource extends GeneratedLocksResource {
  /**
   * Acquires `name` and returns the hold: `await using lock = await client.locks.hold(name)`
   * releases it at the end of the block; `lock.release()` does so explicitly.
   */
  async hold(name: string, options: HoldOptions = {}): Promise<HeldLock> {
    const ttlMs = options.ttlMs ?? DEFAULT_HOLD_TTL_MS;
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
      throw new RangeError(`ttlMs must be a number of milliseconds > 0, got ${ttlMs}`);
    }
    const core = this._client;
    const client: HoldClient = { locks: this, timeoutMs: core.timeoutMs, logger: core.logger };
    const held = new HeldLock(client, name, options.owner ?? defaultIdentity(), ttlMs);
    await held.start(options);
    return held;
  }
}

/** A held lock: its fencing token, a lost signal, renewals in the background, release on exit. */
export class HeldLock implements AsyncDisposable {
  /** The lock's name. */
  readonly name: string;
  /** The holder's identity. */
  readonly owner: string;
  /** TTL of the grant and of every renewal, in milliseconds. */
  readonly ttlMs: number;
  readonly #client: HoldClient;
  readonly #margin: number;
  readonly #retryInterval: number;
  readonly #lost = new AbortController();
  readonly #stop = new AbortController();
  #grant: Lock | undefined;
  #base = 0;
  #deadline = 0;
  #gone = false;
  #released = false;
  #lastError: unknown;
  #renewing: Promise<unknown> = Promise.resolve();
  #background: Promise<void> = Promise.resolve();

  /** Made by `client.locks.hold`. */
  constructor(client: HoldClient, name: string, owner: string, ttlMs: number) {
    this.#client = client;
    this.name = name;
    this.owner = owner;
    this.ttlMs = ttlMs;
    this.#margin = Math.min(ttlMs / 5, 5_000);
    this.#retryInterval = Math.min(ttlMs / 10, 1_000);
  }

  /** The latest grant: expiry and TTL of the last renewal; the token never changes. */
  get lock(): Lock {
    if (this.#grant === undefined) {
      throw new ConcordError(`lock ${this.name} is not held yet`);
    }
    return this.#grant;
  }

  /** The fencing token of the grant: pass it to the storage the lock protects. */
  get fencingToken(): number {
    return this.lock.fencing_token;
  }

  /** Aborts (with a `LockLostError` as its reason) once the hold can no longer be trusted. */
  get signal(): AbortSignal {
    return this.#lost.signal;
  }

  /** True once the hold is lost. */
  get lost(): boolean {
    return this.#lost.signal.aborted;
  }

  /** Acquires, confirms a late grant, and starts the background activity (by `hold`). */
  async start(options: HoldOptions): Promise<void> {
    const wait = options.waitTimeoutMs;
    const sent = performance.now();
    const answer = await this.#client.locks.acquire(
      this.name,
      {
        owner: this.owner,
        ttl: duration(this.ttlMs),
        ...(wait ? { wait_timeout: duration(wait) } : {}),
      },
      { signal: options.signal, timeoutMs: this.#client.timeoutMs + (wait ?? 0) },
    );
    const arrived = performance.now();
    this.#grant = answer.lock;
    this.#base = sent;
    this.#deadline = sent + this.ttlMs - this.#margin;
    if (arrived > sent + this.ttlMs / 3) {
      await this.#confirm(arrived);
    }
    this.#background = options.autoRenew === false ? this.#watchDeadline() : this.#renewLoop();
  }

  /** Renews a grant that arrived late, retrying until `arrived + ttl − margin`. */
  async #confirm(arrived: number): Promise<void> {
    this.#deadline = arrived + this.ttlMs - this.#margin;
    for (;;) {
      const outcome = await this.#renewOnce();
      if (outcome === 'ok') {
        return;
      }
      const now = performance.now();
      if (outcome === 'final' || now >= this.#deadline) {
        const error = new LockLostError(this.name, this.#lastError);
        await this.#bestEffortRelease();
        throw error;
      }
      await sleepUntil(Math.min(now + this.#retryDelay(), this.#deadline), this.#stop.signal);
    }
  }

  /** The background renewals of §1.3, until the hold ends or is lost. */
  async #renewLoop(): Promise<void> {
    let next = this.#base + this.ttlMs / 3;
    while (!this.#stop.signal.aborted && !this.lost) {
      await sleepUntil(next, this.#stop.signal);
      if (this.#stop.signal.aborted) {
        return;
      }
      if (performance.now() >= this.#deadline) {
        this.#declareLost(this.#lastError);
        return;
      }
      const outcome = await this.#serialised(() => this.#renewOnce());
      if (outcome === 'final') {
        this.#gone = true;
        this.#declareLost(this.#lastError);
        return;
      }
      next =
        outcome === 'ok'
          ? this.#base + this.ttlMs / 3
          : Math.min(performance.now() + this.#retryDelay(), this.#deadline);
    }
  }

  /** Without auto-renewal: the hold is lost when the deadline passes unless the caller renewed. */
  async #watchDeadline(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      await sleepUntil(this.#deadline, this.#stop.signal);
      if (!this.#stop.signal.aborted && performance.now() >= this.#deadline) {
        this.#declareLost(this.#lastError);
        return;
      }
    }
  }

  /**
   * One renewal: its own call (no SDK retries), bounded by the remaining lease. A call cut off
   * by that bound got no answer before the deadline: it leaves the last error as it was, so the
   * loss names the last failure a renewal actually got (or none: "no answer").
   */
  async #renewOnce(
    ttlMs: number = this.ttlMs,
    failed: (error: unknown) => void = () => {},
  ): Promise<'ok' | 'transient' | 'final'> {
    const sent = performance.now();
    const remaining = Math.max(this.#deadline - sent, 1);
    const boundedByLease = remaining < this.#client.timeoutMs;
    try {
      const answer = await this.#client.locks.renew(
        this.name,
        { owner: this.owner, fencing_token: this.fencingToken, ttl: duration(ttlMs) },
        {
          maxRetries: 0,
          timeoutMs: Math.min(this.#client.timeoutMs, remaining),
          signal: this.#stop.signal,
        },
      );
      this.#grant = answer.lock ?? this.#grant;
      this.#base = sent;
      this.#deadline = sent + ttlMs - Math.min(ttlMs / 5, 5_000);
      this.#lastError = undefined;
      return 'ok';
    } catch (error) {
      failed(error);
      if (error instanceof APIUserAbortError && this.#stop.signal.aborted) {
        return 'transient';
      }
      if (!(boundedByLease && error instanceof APITimeoutError)) {
        this.#lastError = error;
      }
      this.#client.logger?.info(`lock ${this.name}: renewal failed: ${String(error)}`);
      return isTransient(error) ? 'transient' : 'final';
    }
  }

  /** The wait before retrying a transient renewal failure (Retry-After when the server sent one). */
  #retryDelay(): number {
    return retryDelayOf(this.#lastError) ?? this.#retryInterval;
  }

  /** Runs `task` after any renewal in flight (explicit and background renewals do not overlap). */
  #serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#renewing.then(task, task);
    this.#renewing = run.catch(() => undefined);
    return run;
  }

  /** Renews now (TTL `ttlMs`, default the hold's); on success the deadline moves like a renewal. */
  async renew(ttlMs: number = this.ttlMs): Promise<Lock> {
    if (this.lost || this.#released) {
      throw new LockLostError(this.name, this.#lastError);
    }
    let failure: unknown;
    const outcome = await this.#serialised(() =>
      this.#renewOnce(ttlMs, (error) => {
        failure = error;
      }),
    );
    if (outcome !== 'ok') {
      throw failure;
    }
    return this.lock;
  }

  #declareLost(cause: unknown): void {
    if (!this.lost) {
      this.#client.logger?.warn(`lock ${this.name}: the hold is lost`);
      this.#lost.abort(new LockLostError(this.name, cause));
    }
  }

  /** Stops the background activity (an in-flight renewal is cancelled). */
  async #stopBackground(): Promise<void> {
    this.#stop.abort();
    await this.#background;
    await this.#renewing;
  }

  /** Releases the lock; every failure is thrown. A second call does nothing. */
  async release(): Promise<void> {
    if (this.#released) {
      return;
    }
    this.#released = true;
    await this.#stopBackground();
    if (this.#gone) {
      throw this.#lost.signal.reason;
    }
    try {
      await this.#sendRelease();
    } catch (error) {
      if (isGoneError(error)) {
        this.#declareLost(error);
        throw this.#lost.signal.reason;
      }
      throw error;
    }
    if (this.lost) {
      throw this.#lost.signal.reason;
    }
  }

  /** Scope exit (`await using`): release, then throw `LockLostError` if the hold was lost. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#released) {
      return;
    }
    this.#released = true;
    await this.#stopBackground();
    if (!this.#gone) {
      try {
        await this.#sendRelease();
      } catch (error) {
        if (isGoneError(error)) {
          this.#declareLost(error);
        } else {
          this.#client.logger?.warn(`lock ${this.name}: release failed: ${String(error)}`);
        }
      }
    }
    if (this.lost) {
      throw this.#lost.signal.reason;
    }
  }

  /** ReleaseLock with the SDK's retries, detached from any caller signal, bounded by 5 s. */
  async #sendRelease(): Promise<void> {
    await this.#client.locks.release(
      this.name,
      { owner: this.owner, fencing_token: this.fencingToken },
      { signal: AbortSignal.timeout(RELEASE_BOUND_MS), timeoutMs: RELEASE_BOUND_MS },
    );
  }

  /** A release after a failed confirmation: any failure is only logged. */
  async #bestEffortRelease(): Promise<void> {
    this.#released = true;
    try {
      await this.#sendRelease();
    } catch (error) {
      this.#client.logger?.warn(`lock ${this.name}: release failed: ${String(error)}`);
    }
  }
}

/** LOCK_NOT_HELD or LOCK_EXPIRED: the lock is no longer this hold's. */
function isGoneError(error: unknown): boolean {
  return (
    error instanceof APIError && (error.code === 'LOCK_NOT_HELD' || error.code === 'LOCK_EXPIRED')
  );
}
