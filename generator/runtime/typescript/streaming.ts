/**
 * Server streams (subscriptions, watches) as `AsyncIterable`s, over Server-Sent Events (the
 * default) or the `/v1/ws` WebSocket (docs/sdk-helpers.md §3). A stream opens eagerly: the
 * promise settles once the server accepted it, so a refused subscription rejects with its typed
 * error. Closing it, leaving the loop or aborting the call's signal ends it without an error; an
 * error sent by the server ends it with its typed error. An SSE stream whose connection breaks
 * after an `id:`, or that the server ends with an in-band UNAVAILABLE after one (a draining
 * server), reopens the same request with `Last-Event-ID` (up to `maxRetries` failed attempts
 * in a row, with the retry backoff) and goes on with the next message; without an id or with
 * `maxRetries: 0` the break ends it (`APIConnectionError`, or that UNAVAILABLE), and once the
 * attempts run out with `APIConnectionError`.
 * A WebSocket stream does not reconnect: resume from the last revision you handled.
 */

import type { Answer, ConcordCore, Endpoint } from './core.js';
import { APIConnectionError, APIError, APIResponseError } from './errors.js';
import { checkCount, type RequestOptions } from './options.js';
import { sleep } from './retries.js';
import { type ServerSentEvent, SSEDecoder, StreamBroken, sseEvents } from './sse.js';
import { openWebSocket } from './websocket.js';

/** One open connection of a stream. */
export interface StreamConnection {
  /** The decoded messages; throws a typed error sent by the server, `StreamBroken` on a break. */
  messages: AsyncIterable<unknown>;
  /** The HTTP answer (undefined over WebSocket). */
  response: Response | undefined;
  /** The request id of the connection (`''` over WebSocket). */
  requestId: string;
  /** Closes the connection. */
  close(): void;
}

/** The messages of a server stream; `for await` them, and `close()` (or break) when done. */
export class Stream<T> implements AsyncIterable<T> {
  readonly #connection: StreamConnection;
  readonly #rpc: string;
  readonly #signal: AbortSignal | undefined;
  #closed = false;
  #iterating = false;

  /** Wraps an opened connection (the client makes these). */
  constructor(rpc: string, connection: StreamConnection, signal: AbortSignal | undefined) {
    this.#rpc = rpc;
    this.#connection = connection;
    this.#signal = signal;
  }

  /** The HTTP answer that opened the stream (undefined over WebSocket). */
  get response(): Response | undefined {
    return this.#connection.response;
  }

  /** The request id of the stream. */
  get requestId(): string {
    return this.#connection.requestId;
  }

  /** Ends the stream: the connection closes and a running `for await` finishes quietly. */
  close(): void {
    this.#closed = true;
    this.#connection.close();
  }

  /** `await using stream = await client.locks.watch()` closes it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /** The messages, once: a stream cannot be iterated twice. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterating) {
      throw new TypeError(`${this.#rpc}: a stream can be iterated only once`);
    }
    this.#iterating = true;
    return this.#messages();
  }

  async *#messages(): AsyncGenerator<T, void, undefined> {
    try {
      for await (const message of this.#connection.messages) {
        yield message as T;
        if (this.#ended()) {
          return;
        }
      }
    } catch (error) {
      if (this.#ended()) {
        return;
      }
      if (error instanceof StreamBroken) {
        throw new APIConnectionError(`${this.#rpc}: the stream broke: ${error.message}`, {
          cause: error,
        });
      }
      throw error;
    } finally {
      this.#connection.close();
    }
  }

  /** True once the caller closed the stream or aborted its signal. */
  #ended(): boolean {
    return this.#closed || this.#signal?.aborted === true;
  }
}

/** A stream being opened: `await` it for the `Stream`, or `for await` its messages directly. */
export class StreamPromise<T> implements PromiseLike<Stream<T>>, AsyncIterable<T> {
  readonly #stream: Promise<Stream<T>>;

  /** Wraps a stream being opened (the client makes these). */
  constructor(stream: Promise<Stream<T>>) {
    this.#stream = stream;
  }

  /** Like `Promise.prototype.then`, on the opened stream. */
  // biome-ignore lint/suspicious/noThenProperty: a StreamPromise is awaitable by design.
  then<A = Stream<T>, B = never>(
    onfulfilled?: ((value: Stream<T>) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#stream.then(onfulfilled, onrejected);
  }

  /** Like `Promise.prototype.catch`. */
  catch<B = never>(
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<Stream<T> | B> {
    return this.#stream.catch(onrejected);
  }

  /** Like `Promise.prototype.finally`. */
  finally(onfinally?: (() => void) | null): Promise<Stream<T>> {
    return this.#stream.finally(onfinally);
  }

  /** The messages of the stream, once it is open. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    const stream = await this.#stream;
    try {
      yield* stream;
    } finally {
      stream.close();
    }
  }

  /** `[object StreamPromise]`. */
  get [Symbol.toStringTag](): string {
    return 'StreamPromise';
  }
}

/** Opens a stream over the transport the options (or the client) choose. */
export function openStream<T>(
  core: ConcordCore,
  endpoint: Endpoint,
  options: RequestOptions,
): StreamPromise<T> {
  const transport = options.transport ?? core.streamTransport;
  const opening =
    transport === 'websocket'
      ? openWebSocket(core, endpoint.rpc, endpoint.request, options)
      : openSSE(core, endpoint, options);
  return new StreamPromise(
    opening.then((connection) => new Stream<T>(endpoint.rpc, connection, options.signal)),
  );
}

/** An SSE connection: the endpoint sent (with retries) with `Accept: text/event-stream`. */
async function openSSE(
  core: ConcordCore,
  endpoint: Endpoint,
  options: RequestOptions,
): Promise<StreamConnection> {
  const answer = await core.send(endpoint, options, true);
  const connection = new ResumingSSE(core, endpoint, options, answer);
  return {
    messages: connection.messages(),
    response: answer.response,
    requestId: answer.response.headers.get('x-request-id') ?? '',
    close: () => connection.close(),
  };
}

/** The messages of an SSE stream, reopened with `Last-Event-ID` when its connection breaks. */
class ResumingSSE {
  readonly #core: ConcordCore;
  readonly #endpoint: Endpoint;
  readonly #options: RequestOptions;
  readonly #maxRetries: number;
  readonly #closer = new AbortController();
  readonly #onAbort = (): void => this.close();
  #answer: Answer;
  #lastEventId = '';
  #failures = 0;

  /** Follows the stream `answer` opened. */
  constructor(core: ConcordCore, endpoint: Endpoint, options: RequestOptions, answer: Answer) {
    this.#core = core;
    this.#endpoint = endpoint;
    this.#options = options;
    this.#maxRetries = checkCount('maxRetries', options.maxRetries ?? core.maxRetries);
    this.#answer = answer;
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Closes the current connection and stops any reopening. */
  close(): void {
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    this.#closer.abort();
    this.#answer.abort();
  }

  /** The messages of every connection in turn; ends quietly once closed. */
  async *messages(): AsyncGenerator<unknown, void, undefined> {
    for (;;) {
      const broken = yield* this.#read(this.#answer);
      if (broken === undefined || this.#closer.signal.aborted) {
        return;
      }
      const reopened = await this.#reopen(broken);
      if (reopened === undefined) {
        return;
      }
      this.#answer = reopened;
    }
  }

  /**
   * The messages of one connection; returns the break (or an in-band UNAVAILABLE, which ends the
   * stream the same way), or undefined at a normal end.
   */
  async *#read(
    answer: Answer,
  ): AsyncGenerator<unknown, StreamBroken | APIError | undefined, undefined> {
    const body = answer.response.body;
    if (body === null) {
      return undefined;
    }
    const decoder = new SSEDecoder(this.#lastEventId);
    try {
      for await (const event of sseEvents(body, decoder)) {
        this.#lastEventId = decoder.lastEventId;
        const message = messageOf(this.#core, this.#endpoint.rpc, event);
        if (message !== undefined) {
          this.#failures = 0;
          yield message;
        }
      }
      return undefined;
    } catch (error) {
      if (!(error instanceof StreamBroken) && !isUnavailable(error)) {
        throw error;
      }
      this.#lastEventId = decoder.lastEventId;
      answer.abort();
      return error;
    }
  }

  /**
   * A new connection resuming after the last id, retried with backoff; undefined when the
   * stream was closed meanwhile. Throws the break without an id or retries, a reopen's final
   * error, or a connection error once `maxRetries` attempts in a row failed.
   */
  async #reopen(broken: StreamBroken | APIError): Promise<Answer | undefined> {
    const rpc = this.#endpoint.rpc;
    let failure: unknown =
      broken instanceof APIError
        ? broken
        : new APIConnectionError(`${rpc}: the stream broke: ${broken.message}`, { cause: broken });
    if (this.#lastEventId === '') {
      throw failure;
    }
    for (;;) {
      const delay = this.#core.retryDelayMs(failure, this.#failures);
      if (delay === undefined) {
        throw failure;
      }
      if (this.#failures >= this.#maxRetries) {
        throw this.#exhausted(failure);
      }
      this.#failures++;
      this.#core.logger?.info(
        `${rpc}: the stream broke; reopening after id ${this.#lastEventId}, attempt ${this.#failures} of ${this.#maxRetries} in ${Math.round(delay)}ms`,
      );
      try {
        await sleep(delay, this.#closer.signal);
        return await this.#core.send(this.#endpoint, this.#reopenOptions(), true);
      } catch (error) {
        if (this.#closer.signal.aborted) {
          return undefined;
        }
        failure = error;
      }
    }
  }

  /** The call's options for one reopening attempt: no retries of its own, `Last-Event-ID`. */
  #reopenOptions(): RequestOptions {
    return {
      ...this.#options,
      maxRetries: 0,
      signal: this.#closer.signal,
      headers: { ...this.#options.headers, 'Last-Event-ID': this.#lastEventId },
    };
  }

  /** The connection error once the reopen attempts ran out. */
  #exhausted(failure: unknown): unknown {
    if (this.#failures === 0 || failure instanceof APIConnectionError) {
      return failure;
    }
    const detail = failure instanceof Error ? failure.message : String(failure);
    return new APIConnectionError(
      `${this.#endpoint.rpc}: the stream broke and could not be reopened: ${detail}`,
      { cause: failure },
    );
  }
}

/** Whether an error is the in-band UNAVAILABLE of a draining server or an engine outage. */
function isUnavailable(error: unknown): error is APIError {
  return error instanceof APIError && error.code === 'UNAVAILABLE';
}

/** The message of an event: its JSON data; throws for `event: error`; undefined to skip. */
function messageOf(core: ConcordCore, rpc: string, event: ServerSentEvent): unknown {
  if (event.event === 'error') {
    throw core.streamError(rpc, event.data);
  }
  if (event.event !== 'message' || event.data === '') {
    return undefined;
  }
  try {
    return JSON.parse(event.data);
  } catch (cause) {
    throw new APIResponseError(`${rpc}: a stream message is not JSON`, { cause });
  }
}
