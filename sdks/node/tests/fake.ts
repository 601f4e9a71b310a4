/** A scripted `fetch` for unit tests: answers in order, records every request. */

import { type ClientOptions, Concord } from '@concord/sdk';

/** One recorded request. */
export interface Seen {
  method: string;
  url: URL;
  headers: Headers;
  body: unknown;
  signal: AbortSignal | undefined;
}

/** An answer: a Response, an error to throw, or a function of the request. */
export type Script = Response | Error | ((seen: Seen) => Response | Promise<Response>);

/** A fetch that plays `script` in order and records what it was asked. */
export function scriptedFetch(script: Script[]): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const fake = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = {
      method: init?.method ?? 'GET',
      url: new URL(String(input)),
      headers: new Headers(init?.headers),
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
      signal: init?.signal ?? undefined,
    };
    seen.push(request);
    const next = script.shift();
    if (next === undefined) {
      throw new Error(`unexpected request ${request.method} ${request.url}`);
    }
    if (next instanceof Error) {
      throw next;
    }
    return typeof next === 'function' ? next(request) : next;
  };
  return { fetch: fake as typeof fetch, seen };
}

/** A JSON answer. */
export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** The contract's error body as an answer. */
export function problem(
  status: number,
  code: string,
  extra: Record<string, unknown> = {},
): Response {
  const body = { code, message: `${code} happened`, details: {}, request_id: 'req-1', ...extra };
  return json(status, body);
}

/** A client on a scripted fetch, with tiny backoffs. */
export function client(
  script: Script[],
  options: ClientOptions = {},
): { client: Concord; seen: Seen[] } {
  const { fetch, seen } = scriptedFetch(script);
  return {
    client: new Concord({
      baseURL: 'http://concord.test',
      apiKey: 'k1',
      fetch,
      retryBackoff: { initialMs: 1, maxMs: 2 },
      ...options,
    }),
    seen,
  };
}

/** An answer whose body never arrives until the request is aborted. */
export function hanging(seen: Seen): Promise<Response> {
  return new Promise((_resolve, reject) => {
    seen.signal?.addEventListener('abort', () => reject(seen.signal?.reason), { once: true });
  });
}

/** An SSE answer streaming `chunks`, then ending (or breaking with `error`). */
export function sse(chunks: string[], error?: Error): Response {
  const encoder = new TextEncoder();
  const queue = [...chunks];
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = queue.shift();
      if (chunk !== undefined) {
        controller.enqueue(encoder.encode(chunk));
      } else if (error !== undefined) {
        controller.error(error);
      } else {
        controller.close();
      }
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}
