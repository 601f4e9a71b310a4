/**
 * Server streams (subscriptions, watches) as `AsyncIterable`s, over Server-Sent Events (the
 * default) or the `/v1/ws` WebSocket. A broken connection is re-opened (`reconnect`, on by
 * default), resuming where a `resume` function says; an error sent by the server ends the stream
 * with its typed error.
 */

import type { ConcordCore, Endpoint } from './core.js';
import { APIConnectionError, APIResponseError } from './errors.js';
import type { RequestOptions } from './options.js';
import { backoffMs, sleep } from './retries.js';
import { type ServerSentEvent, StreamBroken, sseEvents } from './sse.js';
import { openWebSocket } from './websocket.js';

/** Options of a streaming call. */
export interface StreamOptions<TRequest, TMessage> extends RequestOptions {
  /**
   * Called with each message received: returns the request that would re-open the stream just
   * after it (default: the request unchanged), used after a broken connection.
   */
  resume?: ((request: TRequest, message: TMessage) => TRequest) | undefined;
}

/** One open connection of a stream. */
export interface StreamConnection {
  /** The decoded messages; throws a typed error sent by the server, `StreamBroken` on a break. */
  messages: AsyncIterable<unknown>;
  /** The HTTP answer (undefined over WebSocket). */
  response: Response | undefined;
  /** The request id of the connection. */
  requestId: string;
  /** True once anything arrived on it (keep-alives included). */
  heard(): boolean;
  /** Closes the connection. */
  close(): void;
}

/** The messages of a server stream; `for await` them, and `close()` (or break) when done. */
export class Stream<T> implements AsyncIterable<T> {
  #connection: StreamConnection;
  #request: unknown;
  #closed = false;
  #iterating = false;
  readonly #open: (request: unknown) => Promise<StreamConnection>;
  readonly #options: StreamOptions<unknown, T>;
  readonly #rpc: string;
  readonly #maxRetries: number;

  /** Wraps an opened connection (the client makes these). */
  constructor(
    rpc: string,
    first: StreamConnection,
    request: unknown,
    open: (request: unknown) => Promise<StreamConnection>,
    options: StreamOptions<unknown, T>,
    maxRetries: number,
  ) {
    this.#rpc = rpc;
    this.#connection = first;
    this.#request = request;
    this.#open = open;
    this.#options = options;
    this.#maxRetries = maxRetries;
  }

  /** The HTTP answer of the current connection (undefined over WebSocket). */
  get response(): Response | undefined {
    return this.#connection.response;
  }

  /** The request id of the current connection. */
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
    let failures = 0;
    for (;;) {
      const connection = this.#connection;
      try {
        for await (const message of connection.messages) {
          if (this.#options.resume !== undefined) {
            this.#request = this.#options.resume(this.#request, message as T);
          }
          yield message as T;
          if (this.#closed) {
            return;
          }
        }
        return;
      } catch (error) {
        if (this.#closed) {
          return;
        }
        failures = connection.heard() ? 0 : failures + 1;
        if (!(error instanceof StreamBroken)) {
          throw error;
        }
        if (this.#options.reconnect === false || failures > this.#maxRetries) {
          throw new APIConnectionError(`${this.#rpc}: the stream broke: ${error.message}`, {
            cause: error,
          });
        }
      } finally {
        connection.close();
      }
      await this.#reopen(failures);
      if (this.#closed) {
        return;
      }
    }
  }

  async #reopen(failures: number): Promise<void> {
    if (failures > 0) {
      await sleep(backoffMs(failures - 1, 500, 8000), this.#options.signal);
    }
    this.#connection = await this.#open(this.#request);
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
export function openStream<TRequest extends object, T>(
  core: ConcordCore,
  endpoint: Endpoint<TRequest>,
  options: StreamOptions<TRequest, T>,
): StreamPromise<T> {
  const transport = options.transport ?? core.streamTransport;
  const open = (request: unknown): Promise<StreamConnection> =>
    transport === 'websocket'
      ? openWebSocket(core, endpoint.rpc, request, options)
      : openSSE(core, { ...endpoint, request: request as TRequest }, options);
  const maxRetries = options.maxRetries ?? core.maxRetries;
  const generic = options as StreamOptions<unknown, T>;
  const opened = Promise.resolve(endpoint.request).then(open);
  return new StreamPromise(
    opened.then(
      (first) => new Stream<T>(endpoint.rpc, first, endpoint.request, open, generic, maxRetries),
    ),
  );
}

/** An SSE connection: the endpoint sent (with retries) with `Accept: text/event-stream`. */
async function openSSE(
  core: ConcordCore,
  endpoint: Endpoint,
  options: RequestOptions,
): Promise<StreamConnection> {
  const rpc = endpoint.rpc;
  const answer = await core.send(endpoint, options, true);
  let heard = false;
  const body = answer.response.body;
  async function* messages(): AsyncGenerator<unknown, void, undefined> {
    if (body === null) {
      return;
    }
    for await (const event of sseEvents(body, () => {
      heard = true;
    })) {
      const message = messageOf(core, rpc, event);
      if (message !== undefined) {
        yield message;
      }
    }
  }
  return {
    messages: messages(),
    response: answer.response,
    requestId: answer.response.headers.get('x-request-id') ?? '',
    heard: () => heard,
    close: answer.abort,
  };
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
