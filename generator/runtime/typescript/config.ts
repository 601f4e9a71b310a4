/** A client's settings: the options, over the `CONCORD_*` environment, over the defaults. */

import { ConcordError } from './errors.js';
import { isLogLevel, type Logger, levelLogger } from './logging.js';
import {
  type ClientOptions,
  checkCount,
  checkMs,
  DEFAULT_BASE_URL,
  DEFAULT_INITIAL_BACKOFF_MS,
  DEFAULT_MAX_BACKOFF_MS,
  DEFAULT_MAX_RETRIES,
  DEFAULT_TIMEOUT_MS,
  readEnv,
  type StreamTransport,
  type WebSocketConstructor,
} from './options.js';

/** The resolved settings of a client. */
export interface Settings {
  /** The server's URL, without a trailing slash. */
  baseURL: string;
  /** Its origin: the only one credentials are sent to. */
  origin: string;
  /** The API key, if any. */
  apiKey: string | undefined;
  /** The bearer token, if any (sent instead of the API key). */
  bearerToken: string | undefined;
  /** Retries of a failed call. */
  maxRetries: number;
  /** Bound of each attempt, in milliseconds. */
  timeoutMs: number;
  /** Backoff between retries, in milliseconds. */
  backoff: { initialMs: number; maxMs: number };
  /** The fetch that sends requests. */
  fetch: typeof fetch;
  /** How server streams travel by default. */
  streamTransport: StreamTransport;
  /** The WebSocket constructor, if there is one. */
  webSocket: WebSocketConstructor | undefined;
  /** The logger, when logging is on. */
  logger: Logger | undefined;
}

/** Checks and resolves the options of a client; bad ones are RangeError, TypeError or ConcordError. */
export function resolveSettings(options: ClientOptions): Settings {
  const baseURL = (options.baseURL || readEnv('CONCORD_BASE_URL') || DEFAULT_BASE_URL).replace(
    /\/+$/,
    '',
  );
  const [apiKey, bearerToken] = resolveCredentials(options);
  return {
    baseURL,
    origin: originOf(baseURL),
    apiKey,
    bearerToken,
    maxRetries: checkCount('maxRetries', options.maxRetries ?? DEFAULT_MAX_RETRIES),
    timeoutMs: checkMs('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    backoff: {
      initialMs: checkCount(
        'retryBackoff.initialMs',
        options.retryBackoff?.initialMs ?? DEFAULT_INITIAL_BACKOFF_MS,
      ),
      maxMs: checkCount(
        'retryBackoff.maxMs',
        options.retryBackoff?.maxMs ?? DEFAULT_MAX_BACKOFF_MS,
      ),
    },
    fetch: resolveFetch(options),
    ...resolveStreams(options),
    logger: resolveLogger(options),
  };
}

function resolveFetch(options: ClientOptions): typeof fetch {
  if (options.fetch !== undefined) {
    return options.fetch;
  }
  const found = globalThis.fetch;
  if (typeof found !== 'function') {
    throw new ConcordError('no fetch: pass `fetch` in the client options');
  }
  // Browsers refuse a fetch called with another `this` ("Illegal invocation"): bind it.
  return found.bind(globalThis);
}

function resolveStreams(options: ClientOptions): Pick<Settings, 'streamTransport' | 'webSocket'> {
  const webSocket =
    options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  const streamTransport = options.streamTransport ?? 'sse';
  if (streamTransport !== 'sse' && streamTransport !== 'websocket') {
    throw new RangeError(
      `streamTransport must be 'sse' or 'websocket', got ${String(streamTransport)}`,
    );
  }
  if (streamTransport === 'websocket' && webSocket === undefined) {
    throw new ConcordError(
      "streamTransport 'websocket' needs a global WebSocket or the `WebSocket` option",
    );
  }
  return { streamTransport, webSocket };
}

function resolveLogger(options: ClientOptions): Logger | undefined {
  const level = options.logLevel ?? readEnv('CONCORD_LOG');
  if (level !== undefined && !isLogLevel(level)) {
    throw new RangeError(`logLevel must be debug, info, warn, error or off, got ${level}`);
  }
  return level === undefined || level === 'off'
    ? undefined
    : levelLogger(options.logger ?? console, level);
}

/**
 * The API key and bearer token: explicit (non-empty) options replace both environment
 * variables; `null` turns one kind off; otherwise `CONCORD_API_KEY` / `CONCORD_BEARER_TOKEN`.
 */
function resolveCredentials(options: ClientOptions): [string | undefined, string | undefined] {
  const apiKey = options.apiKey || undefined;
  const bearerToken = options.bearerToken || undefined;
  if (apiKey !== undefined || bearerToken !== undefined) {
    return [apiKey, bearerToken];
  }
  return [
    options.apiKey === null ? undefined : readEnv('CONCORD_API_KEY'),
    options.bearerToken === null ? undefined : readEnv('CONCORD_BEARER_TOKEN'),
  ];
}

/** The origin (scheme, host, port) of a URL; a TypeError for a base URL that is not one. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch (cause) {
    throw new TypeError(`baseURL is not a URL: ${url}`, { cause });
  }
}
