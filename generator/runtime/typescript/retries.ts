/**
 * When a failed attempt is retried and after how long: connection errors, timeouts, 408, 429 and
 * 5xx answers (but 501 and 505), honouring `Retry-After`, else exponential backoff with jitter.
 */

/** The longest `Retry-After` honoured, in milliseconds; a longer one falls back to the backoff. */
export const MAX_RETRY_AFTER_MS = 60_000;

/** True when an answer with this status may succeed if sent again. */
export function isRetryableStatus(status: number): boolean {
  if (status === 408 || status === 429) {
    return true;
  }
  return status >= 500 && status !== 501 && status !== 505;
}

/** The delay before retry number `attempt + 1`: initial·2^attempt, capped, less up to 25% jitter. */
export function backoffMs(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const delay = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return delay * (1 - 0.25 * random());
}

/**
 * The delay a `Retry-After` (or `retry-after-ms`) header asks for, in milliseconds: delay
 * seconds (fractions accepted) or an HTTP date. Undefined when absent, unreadable or too long.
 */
export function retryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = Number.parseFloat(headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0 && ms <= MAX_RETRY_AFTER_MS) {
    return ms;
  }
  const value = headers.get('retry-after')?.trim();
  if (!value) {
    return undefined;
  }
  let delay: number;
  if (/^\d+(\.\d+)?$/.test(value)) {
    delay = Number(value) * 1000;
  } else {
    const at = Date.parse(value);
    if (Number.isNaN(at)) {
      return undefined;
    }
    delay = Math.max(at - now, 0);
  }
  return delay <= MAX_RETRY_AFTER_MS ? delay : undefined;
}

/** Waits `ms` milliseconds; rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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
