/** What the hand-written helpers share: identities, failure kinds, monotonic waits. */

import { APIConnectionError, APIError } from '../core/errors.js';
import { retryAfterMs } from '../core/retries.js';
import { ERROR_CODES } from '../errors.js';

/** `<host>-<pid>-<8 random hex digits>`: a fresh identity for a hold owner or a worker. */
export function defaultIdentity(): string {
  const runtime = globalThis as {
    process?: { pid?: number; env?: Record<string, string | undefined> };
    location?: { hostname?: string };
  };
  const host = runtime.process?.env?.HOSTNAME || runtime.location?.hostname || 'client';
  const pid = runtime.process?.pid ?? 0;
  return `${host}-${pid}-${globalThis.crypto.randomUUID().replaceAll('-', '').slice(0, 8)}`;
}

/** A transient failure: no answer, or an error the catalogue marks retryable. */
export function isTransient(error: unknown): boolean {
  if (error instanceof APIConnectionError) {
    return true;
  }
  if (!(error instanceof APIError)) {
    return false;
  }
  const rule = (ERROR_CODES as Record<string, { retryable: boolean } | undefined>)[error.code];
  return rule?.retryable === true;
}

/** The delay a failed answer's Retry-After asks for, in milliseconds, if it sent one. */
export function retryDelayOf(error: unknown): number | undefined {
  return error instanceof APIError && error.response !== undefined
    ? retryAfterMs(error.response.headers)
    : undefined;
}

/** An API error with one of `codes`. */
export function hasCode(error: unknown, ...codes: string[]): boolean {
  return error instanceof APIError && codes.includes(error.code);
}

/**
 * Waits until the monotonic clock (`performance.now()`) reaches `at`, or `signal` aborts;
 * never rejects.
 */
export function sleepUntil(at: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(at - performance.now(), 0));
    signal?.addEventListener('abort', done, { once: true });
  });
}
