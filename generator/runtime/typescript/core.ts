/**
 * `ConcordCore`: what every generated resource calls. It builds requests (base URL, credentials,
 * headers, Idempotency-Key), sends them with retries and per-attempt timeouts, and maps error
 * answers to the typed error of their catalogue code.
 */

import { APIPromise, type WithResponse } from './api-promise.js';
import { resolveSettings, type Settings } from './config.js';
import {
  APIConnectionError,
  type APIError,
  type APIErrorInit,
  APIResponseError,
  APITimeoutError,
  APIUserAbortError,
  ConcordError,
  CrossOriginRedirectError,
  errorBodyOf,
  readErrorBody,
  snippet,
} from './errors.js';
import { type Logger, redactHeaders } from './logging.js';
import {
  type ClientOptions,
  checkCount,
  checkMs,
  type RequestOptions,
  type StreamTransport,
  type WebSocketConstructor,
} from './options.js';
import { PagePromise, type PageSource } from './pagination.js';
import { applyHeaders, type Endpoint, type PageFields, requestIdOf, target } from './request.js';
import { backoffMs, isRetryableStatus, retryAfterMs, sleep } from './retries.js';
import { openStream, type StreamPromise } from './streaming.js';
import { randomUUID } from './wire.js';

export type { Endpoint, PageFields } from './request.js';

/** What the generated errors module gives the core: typed errors by code, codes by status. */
export interface ErrorCatalogue {
  /** The typed error of an answer's code. */
  make(init: APIErrorInit): APIError;
  /** The code of an error answer whose body is not a Concord error. */
  codeForStatus(status: number): string;
  /** The HTTP status the catalogue gives a code (0 for an unknown code). */
  statusForCode(code: string): number;
}

/** An answer that arrived: unary bodies are read; a stream's body is left open. */
interface Answer {
  response: Response;
  text: string;
  /** Aborts the request (closes a stream's body). */
  abort: () => void;
}

/** The outcome of one attempt: an answer, or an error that may be retried. */
type Attempt = { answer: Answer } | { error: ConcordError; retryable: boolean };

/** The request of one fetch. */
interface FetchInit {
  method: string;
  headers: Headers;
  body: string | null;
  signal: AbortSignal;
}

/** Statuses of redirects, and how many are followed. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/** A marker for an attempt that ran out of time. */
class AttemptTimeout extends Error {}

/** The transport shared by a client's resources. */
export class ConcordCore {
  /** The server's URL, without a trailing slash. */
  readonly baseURL: string;
  /** Retries of a failed call. */
  readonly maxRetries: number;
  /** Bound of each attempt, in milliseconds. */
  readonly timeoutMs: number;
  /** How server streams travel unless a call says otherwise. */
  readonly streamTransport: StreamTransport;
  /** The WebSocket constructor of the `websocket` stream transport, if there is one. */
  readonly webSocket: WebSocketConstructor | undefined;
  /** The options the client was made with (`withOptions` starts from them). */
  protected readonly options: ClientOptions;
  readonly #settings: Settings;
  readonly #errors: ErrorCatalogue;
  readonly #clientHeader: string;

  /** Reads the options, falling back on `CONCORD_*` environment variables and the defaults. */
  constructor(options: ClientOptions, version: string, errors: ErrorCatalogue) {
    const settings = resolveSettings(options);
    this.options = options;
    this.baseURL = settings.baseURL;
    this.maxRetries = settings.maxRetries;
    this.timeoutMs = settings.timeoutMs;
    this.streamTransport = settings.streamTransport;
    this.webSocket = settings.webSocket;
    this.#settings = settings;
    this.#errors = errors;
    this.#clientHeader = `concord-node/${version}`;
  }

  /** The logger when logging is on (the helpers log through it too). */
  get logger(): Logger | undefined {
    return this.#settings.logger;
  }

  /** The credential headers (bearer token over API key), for transports other than fetch. */
  credentials(): { authorization?: string; apiKey?: string } {
    if (this.#settings.bearerToken !== undefined) {
      return { authorization: `Bearer ${this.#settings.bearerToken}` };
    }
    return this.#settings.apiKey === undefined ? {} : { apiKey: this.#settings.apiKey };
  }

  /** Sends a unary call with retries; the parsed answer, or a typed error. */
  request<T>(endpoint: Endpoint, options: RequestOptions = {}): APIPromise<T> {
    return new APIPromise(this.#unary<T>(endpoint, options));
  }

  /** Opens a server stream (SSE or WebSocket); `for await` its messages. */
  stream<T>(endpoint: Endpoint, options: RequestOptions = {}): StreamPromise<T> {
    return openStream(this, endpoint, options);
  }

  /** A listing: `await` it for the first page, or `for await` every item of every page. */
  paginate<TItem, TBody>(
    endpoint: Endpoint,
    fields: PageFields<TBody>,
    options: RequestOptions = {},
  ): PagePromise<TItem, TBody> {
    const source: PageSource<TItem, TBody> = {
      fetch: (token) =>
        this.request<TBody>(
          { ...endpoint, request: { ...endpoint.request, [fields.token]: token || undefined } },
          options,
        ),
      items: (body) => (body[fields.items] as TItem[] | undefined) ?? [],
      next: (body) => (body[fields.next] as string | undefined) ?? '',
    };
    const first = (endpoint.request as Record<string, unknown>)[fields.token];
    return PagePromise.of(source, typeof first === 'string' ? first : '');
  }

  async #unary<T>(endpoint: Endpoint, options: RequestOptions): Promise<WithResponse<T>> {
    const answer = await this.send(endpoint, options, false);
    return {
      data: this.#parse<T>(endpoint, answer.text),
      response: answer.response,
      requestId: requestIdOf(answer.response),
    };
  }

  #parse<T>(endpoint: Endpoint, text: string): T {
    if (text.trim() === '') {
      return {} as T;
    }
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new APIResponseError(`${endpoint.rpc}: the answer is not JSON: ${snippet(text)}`, {
        cause,
      });
    }
  }

  /**
   * Sends `endpoint` until it succeeds, fails for good or runs out of retries. A stream's
   * (`stream` true) answer comes back with its body open.
   */
  async send(endpoint: Endpoint, options: RequestOptions, stream: boolean): Promise<Answer> {
    const key = options.idempotencyKey ?? (endpoint.idempotent ? undefined : randomUUID());
    const maxRetries = checkCount('maxRetries', options.maxRetries ?? this.maxRetries);
    const retrySafe = endpoint.idempotent || key !== undefined;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#attempt(endpoint, options, key, stream, attempt);
      if ('answer' in outcome && outcome.answer.response.ok) {
        return outcome.answer;
      }
      const error = 'answer' in outcome ? this.#error(endpoint, outcome.answer) : outcome.error;
      const retryable =
        'answer' in outcome ? isRetryableStatus(outcome.answer.response.status) : outcome.retryable;
      if (!retrySafe || !retryable || attempt >= maxRetries) {
        throw error;
      }
      const delay =
        ('answer' in outcome ? retryAfterMs(outcome.answer.response.headers) : undefined) ??
        backoffMs(attempt, this.#settings.backoff.initialMs, this.#settings.backoff.maxMs);
      this.#settings.logger?.info(
        `${endpoint.rpc} failed (${error.message}); retry ${attempt + 1} of ${maxRetries} in ${Math.round(delay)}ms`,
      );
      try {
        await sleep(delay, options.signal);
      } catch (cause) {
        throw new APIUserAbortError(`${endpoint.rpc}: aborted while waiting to retry`, { cause });
      }
    }
  }

  async #attempt(
    endpoint: Endpoint,
    options: RequestOptions,
    key: string | undefined,
    stream: boolean,
    attempt: number,
  ): Promise<Attempt> {
    const { path, body } = target(endpoint);
    const url = this.baseURL + path;
    const headers = this.#headers(body !== undefined, options, key, stream);
    const controller = new AbortController();
    const signal = options.signal;
    if (signal?.aborted) {
      return {
        error: new APIUserAbortError(`${endpoint.rpc}: aborted`, { cause: signal.reason }),
        retryable: false,
      };
    }
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const timeoutMs = checkMs('timeoutMs', options.timeoutMs ?? this.timeoutMs);
    const timer = setTimeout(() => controller.abort(new AttemptTimeout()), timeoutMs);
    const started = Date.now();
    this.#settings.logger?.debug(
      `${endpoint.method} ${url} attempt=${attempt + 1}`,
      redactHeaders(headers),
    );
    let keepOpen = false;
    try {
      const payload = body === undefined ? null : JSON.stringify(body);
      const init = { method: endpoint.method, headers, body: payload, signal: controller.signal };
      const response = await this.#fetchSameOrigin(endpoint.rpc, url, init);
      keepOpen = stream && response.ok;
      const text = keepOpen ? '' : await response.text();
      this.#settings.logger?.debug(
        `${endpoint.method} ${url} -> ${response.status} in ${Date.now() - started}ms`,
        redactHeaders(response.headers),
      );
      const abort = (): void => {
        signal?.removeEventListener('abort', onAbort);
        controller.abort();
      };
      return { answer: { response, text, abort } };
    } catch (cause) {
      return this.#failure(endpoint, cause, controller.signal, signal, timeoutMs);
    } finally {
      clearTimeout(timer);
      if (!keepOpen) {
        signal?.removeEventListener('abort', onAbort);
      }
    }
  }

  /**
   * Fetches without letting `fetch` follow redirects: a redirect to the base URL's origin is
   * followed (credentials included), one to another origin is refused (docs/sdk-helpers.md §4).
   */
  async #fetchSameOrigin(rpc: string, url: string, init: FetchInit): Promise<Response> {
    let target = url;
    let request = init;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const response = await this.#settings.fetch(target, { ...request, redirect: 'manual' });
      if (response.type === 'opaqueredirect') {
        throw new CrossOriginRedirectError(rpc, undefined);
      }
      const location = response.headers.get('location');
      if (!REDIRECTS.has(response.status) || location === null) {
        return response;
      }
      await response.body?.cancel();
      const next = new URL(location, target);
      if (next.origin !== this.#settings.origin) {
        throw new CrossOriginRedirectError(rpc, next.href);
      }
      target = next.href;
      if (response.status === 303 || (response.status < 307 && request.method !== 'GET')) {
        request = { ...request, method: 'GET', body: null };
      }
    }
    throw new APIConnectionError(`${rpc}: more than ${MAX_REDIRECTS} redirects`);
  }

  #failure(
    endpoint: Endpoint,
    cause: unknown,
    attemptSignal: AbortSignal,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Attempt {
    if (cause instanceof ConcordError) {
      return { error: cause, retryable: false };
    }
    if (signal?.aborted) {
      return {
        error: new APIUserAbortError(`${endpoint.rpc}: aborted`, { cause: signal.reason }),
        retryable: false,
      };
    }
    if (attemptSignal.reason instanceof AttemptTimeout) {
      return {
        error: new APITimeoutError(`${endpoint.rpc}: timed out after ${timeoutMs}ms`, { cause }),
        retryable: true,
      };
    }
    const detail = cause instanceof Error ? cause.message : String(cause);
    return {
      error: new APIConnectionError(`${endpoint.rpc}: connection error: ${detail}`, { cause }),
      retryable: true,
    };
  }

  #headers(
    hasBody: boolean,
    options: RequestOptions,
    key: string | undefined,
    stream: boolean,
  ): Headers {
    const headers = new Headers({
      Accept: stream ? 'text/event-stream' : 'application/json',
      'User-Agent': this.#clientHeader,
      'X-Concord-Client': this.#clientHeader,
    });
    if (hasBody) {
      headers.set('Content-Type', 'application/json');
    }
    const { authorization, apiKey } = this.credentials();
    if (authorization !== undefined) {
      headers.set('Authorization', authorization);
    } else if (apiKey !== undefined) {
      headers.set('X-API-Key', apiKey);
    }
    if (key !== undefined) {
      headers.set('Idempotency-Key', key);
    }
    if (options.traceparent !== undefined) {
      headers.set('traceparent', options.traceparent);
    }
    applyHeaders(headers, this.options.defaultHeaders);
    applyHeaders(headers, options.headers);
    return headers;
  }

  /** The typed error of an error answer. */
  #error(endpoint: Endpoint, answer: Answer): APIError {
    const { response, text } = answer;
    const body = errorBodyOf(text);
    const error = this.#errors.make({
      status: response.status,
      code: body?.code ?? this.#errors.codeForStatus(response.status),
      message:
        body?.message ?? `${response.status} ${response.statusText}: ${snippet(text)}`.trim(),
      details: body?.details ?? {},
      requestId: body?.request_id || requestIdOf(response),
      response,
      rpc: endpoint.rpc,
    });
    this.#settings.logger?.info(`${endpoint.method} ${endpoint.path}: ${error.message}`);
    return error;
  }

  /** The typed error of an error message sent inside a stream (SSE `event: error`, WebSocket). */
  streamError(rpc: string, data: unknown): ConcordError {
    const body = typeof data === 'string' ? errorBodyOf(data) : readErrorBody(data);
    if (body === undefined) {
      return new APIResponseError(
        `${rpc}: unreadable error message in the stream: ${snippet(String(data))}`,
      );
    }
    return this.#errors.make({
      status: this.#errors.statusForCode(body.code),
      code: body.code,
      message: body.message,
      details: body.details,
      requestId: body.request_id,
      response: undefined,
      rpc,
    });
  }
}
