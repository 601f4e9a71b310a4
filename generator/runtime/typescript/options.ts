/** Client and per-call options, their defaults, and what the environment supplies. */

import type { Logger, LogLevel } from './logging.js';

/** The server used when neither the options nor `CONCORD_BASE_URL` name one. */
export const DEFAULT_BASE_URL = 'http://localhost:8080';
/** Retries of a failed call unless `maxRetries` says otherwise. */
export const DEFAULT_MAX_RETRIES = 2;
/** Bound of each attempt, in milliseconds (for a stream, until its headers arrive). */
export const DEFAULT_TIMEOUT_MS = 60_000;
/** First delay between retries, doubled on each retry up to `DEFAULT_MAX_BACKOFF_MS`. */
export const DEFAULT_INITIAL_BACKOFF_MS = 500;
/** Longest delay between retries (before jitter). */
export const DEFAULT_MAX_BACKOFF_MS = 8_000;

/** How a server stream travels: Server-Sent Events over fetch, or the `/v1/ws` WebSocket. */
export type StreamTransport = 'sse' | 'websocket';

/** The part of the WebSocket API the SDK uses (the browser's, Node 22's, or the `ws` package's). */
export interface WebSocketLike {
  /** The socket's state (1 = open). */
  readonly readyState: number;
  /** Sends a text frame. */
  send(data: string): void;
  /** Closes the socket. */
  close(code?: number, reason?: string): void;
  /** Listens for `open`, `message`, `error` and `close`. */
  addEventListener(type: string, listener: (event: never) => void): void;
}

/**
 * A WebSocket constructor: `globalThis.WebSocket` (browsers, Node.js 22+) or the `ws` package's.
 * Its sockets are used through `WebSocketLike`.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => unknown;

/** Options of `new Concord(...)`; every one is optional. */
export interface ClientOptions {
  /** The server's URL; default `CONCORD_BASE_URL`, else `http://localhost:8080`. */
  baseURL?: string | undefined;
  /** API key sent as `X-API-Key`; default `CONCORD_API_KEY`. `null` sends none. */
  apiKey?: string | null | undefined;
  /** Bearer JWT sent as `Authorization` (wins over the API key); default `CONCORD_BEARER_TOKEN`. */
  bearerToken?: string | null | undefined;
  /** Bound of each attempt in milliseconds (default 60000; a stream's until its headers). */
  timeoutMs?: number | undefined;
  /** Retries of a failed call (default 2; 0 disables retries). */
  maxRetries?: number | undefined;
  /** Headers sent with every request; a `null` value removes a header the SDK would send. */
  defaultHeaders?: Record<string, string | null> | undefined;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch | undefined;
  /** Backoff between retries: first delay and cap, in milliseconds (default 500 and 8000). */
  retryBackoff?: { initialMs: number; maxMs: number } | undefined;
  /** How server streams travel (default `'sse'`; `'websocket'` needs a WebSocket, see below). */
  streamTransport?: StreamTransport | undefined;
  /** The WebSocket constructor for `streamTransport: 'websocket'` (default: the global one). */
  WebSocket?: WebSocketConstructor | undefined;
  /** Where log lines go (default: `console`); nothing is logged unless `logLevel` is set. */
  logger?: Logger | undefined;
  /** Opt-in logging: `'debug'` (every request and answer) to `'error'`; default `CONCORD_LOG`. */
  logLevel?: LogLevel | undefined;
}

/** Options of one call, the last argument of every method. */
export interface RequestOptions {
  /** Aborts the call (and its retries); it then rejects with `APIUserAbortError`. */
  signal?: AbortSignal | undefined;
  /** Bound of each attempt in milliseconds, instead of the client's. */
  timeoutMs?: number | undefined;
  /** Extra headers of this call; a `null` value removes a header. */
  headers?: Record<string, string | null> | undefined;
  /** The `Idempotency-Key` of a call that is not idempotent by itself (default: a random UUID). */
  idempotencyKey?: string | undefined;
  /** Retries of this call, instead of the client's. */
  maxRetries?: number | undefined;
  /** For server streams: the transport of this call, instead of the client's. */
  transport?: StreamTransport | undefined;
  /**
   * The W3C `traceparent` of the caller's span, sent so the server's spans join the caller's
   * trace (with OpenTelemetry: `propagation.inject(context.active(), carrier)` fills one);
   * a `traceparent` in `headers` wins.
   */
  traceparent?: string | undefined;
}

/** A variable of the environment (`process.env` on Node; undefined in a browser). */
export function readEnv(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  const value = env?.[name]?.trim();
  return value ? value : undefined;
}

/** A count option checked to be a whole number >= 0. */
export function checkCount(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a whole number >= 0, got ${value}`);
  }
  return value;
}

/** A time option checked to be a number of milliseconds > 0. */
export function checkMs(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a number of milliseconds > 0, got ${value}`);
  }
  return value;
}
