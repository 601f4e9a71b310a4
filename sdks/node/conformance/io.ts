/** What the generated op table needs: contract JSON input as SDK arguments, stream collection. */

import type { StreamPromise } from '@concord/sdk';

/** The `input` of a call: the request in its contract JSON. */
export type Input = Record<string, unknown>;

/**
 * The `stream` of a call: how many messages to collect, for how long at most; `opened` is the
 * adapter's announcement that the stream is open (its `stream_open` notice).
 */
export interface StreamSpec {
  take?: number;
  timeout_ms?: number;
  opened?: () => void;
}

/** Default time a stream is read when the call gives none. */
const STREAM_TIMEOUT_MS = 5_000;

/** A path parameter of the input (`''` when missing: the SDK refuses it before any request). */
export function pathArg(input: Input, name: string): string {
  const value = input[name];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

/** The input without its path parameters: the params object of the SDK call. */
export function paramsOf<T>(input: Input, path: string[]): T {
  return Object.fromEntries(Object.entries(input).filter(([name]) => !path.includes(name))) as T;
}

/** Reads up to `take` messages of a stream, or what arrives before `timeout_ms`, then closes it. */
export async function collect<T>(
  opening: StreamPromise<T>,
  spec: StreamSpec | undefined,
): Promise<{ messages: T[] }> {
  const stream = await opening;
  spec?.opened?.(); // the server accepted the subscription: the runner may go on
  const take = spec?.take ?? 0;
  const timer = setTimeout(() => stream.close(), spec?.timeout_ms ?? STREAM_TIMEOUT_MS);
  const messages: T[] = [];
  try {
    for await (const message of stream) {
      messages.push(message);
      if (take > 0 && messages.length >= take) {
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    stream.close();
  }
  return { messages };
}
