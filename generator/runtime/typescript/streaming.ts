/**
 * Server streams (subscriptions, watches) as `AsyncIterable`s, over Server-Sent Events (the
 * default) or the `/v1/ws` WebSocket (docs/sdk-helpers.md §3). A stream opens eagerly: the
 * promise settles once the server accepted it, so a refused subscription rejects with its typed
 * error. Closing it, leaving the loop or aborting the call's signal ends it without an error; an
 * error sent by the server ends it with its typed error; a broken connection with
 * `APIConnectionError`. The SDK does not reconnect: resume from the last revision you handled.
 */

import type { ConcordCore, Endpoint } from './core.js';
import { APIConnectionError, APIResponseError } from './errors.js';
import type { RequestOptions } from './options.js';
import { type ServerSentEvent, StreamBroken, sseEvents } from './sse.js';
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
  const body = answer.response.body;
  async function* messages(): AsyncGenerator<unknown, void, undefined> {
    if (body === null) {
      return;
    }
    for await (const event of sseEvents(body)) {
      const message = messageOf(core, endpoint.rpc, event);
      if (message !== undefined) {
        yield message;
      }
    }
  }
  return {
    messages: messages(),
    response: answer.response,
    requestId: answer.response.headers.get('x-request-id') ?? '',
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
