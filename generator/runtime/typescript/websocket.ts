/**
 * Server streams over the `/v1/ws` WebSocket: one socket per stream. The credential travels in
 * an `auth` message (browsers cannot set headers on a WebSocket), then one `subscribe`; the
 * server's `ping`s are answered. Headers of the client or call are not sent on this transport.
 */

import type { ConcordCore } from './core.js';
import {
  APIConnectionError,
  APITimeoutError,
  APIUserAbortError,
  ConcordError,
  SlowConsumerError,
} from './errors.js';
import type { RequestOptions, WebSocketLike } from './options.js';
import { backoffMs, sleep } from './retries.js';
import { StreamBroken } from './sse.js';
import type { StreamConnection } from './streaming.js';

/** The close code of a client that read too slowly. */
export const SLOW_CONSUMER_CLOSE = 4008;
const SUBSCRIPTION_ID = 's1';

/** What the socket reported: a parsed message, or its end. */
type SocketEvent =
  | { kind: 'message'; data: Record<string, unknown> }
  | { kind: 'close'; code: number; reason: string };

/** A queue of socket events that a reader awaits one at a time. */
class EventQueue {
  #items: SocketEvent[] = [];
  #waiting: ((event: SocketEvent) => void) | undefined;

  push(event: SocketEvent): void {
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      waiting(event);
    } else {
      this.#items.push(event);
    }
  }

  next(): Promise<SocketEvent> {
    const item = this.#items.shift();
    if (item !== undefined) {
      return Promise.resolve(item);
    }
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }
}

/** The `ws(s)://…/v1/ws` URL of a base URL. */
export function webSocketURL(baseURL: string): string {
  return `${baseURL.replace(/^http/, 'ws')}/v1/ws`;
}

/** Opens a subscription, retrying connection failures up to `maxRetries` times. */
export async function openWebSocket(
  core: ConcordCore,
  rpc: string,
  request: unknown,
  options: RequestOptions,
): Promise<StreamConnection> {
  const maxRetries = options.maxRetries ?? core.maxRetries;
  for (let attempt = 0; ; attempt++) {
    try {
      return await subscribe(core, rpc, request, options);
    } catch (error) {
      if (
        !(error instanceof APIConnectionError) ||
        error instanceof SlowConsumerError ||
        attempt >= maxRetries
      ) {
        throw error;
      }
      try {
        await sleep(backoffMs(attempt, 500, 8000), options.signal);
      } catch (cause) {
        throw new APIUserAbortError(`${rpc}: aborted while waiting to retry`, { cause });
      }
    }
  }
}

async function subscribe(
  core: ConcordCore,
  rpc: string,
  request: unknown,
  options: RequestOptions,
): Promise<StreamConnection> {
  const Socket = core.webSocket;
  if (Socket === undefined) {
    throw new ConcordError(
      'no WebSocket: pass `WebSocket` in the client options or use the SSE transport',
    );
  }
  const socket = new Socket(webSocketURL(core.baseURL)) as WebSocketLike;
  const queue = new EventQueue();
  listen(socket, queue);
  const close = (): void => socket.close(1000, 'closed by the client');
  const timeoutMs = options.timeoutMs ?? core.timeoutMs;
  const timer = setTimeout(
    () => queue.push({ kind: 'close', code: -1, reason: `timed out after ${timeoutMs}ms` }),
    timeoutMs,
  );
  const onAbort = (): void => queue.push({ kind: 'close', code: -2, reason: 'aborted' });
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await handshake(core, rpc, socket, queue, request);
  } catch (error) {
    close();
    throw error;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
  options.signal?.addEventListener('abort', close, { once: true });
  return {
    messages: messages(core, rpc, socket, queue),
    response: undefined,
    requestId: '',
    close,
  };
}

function listen(socket: WebSocketLike, queue: EventQueue): void {
  socket.addEventListener('open', () => queue.push({ kind: 'message', data: { type: 'open' } }));
  socket.addEventListener('message', (event: { data: unknown }) => {
    try {
      queue.push({
        kind: 'message',
        data: JSON.parse(String(event.data)) as Record<string, unknown>,
      });
    } catch {
      queue.push({ kind: 'close', code: -3, reason: 'the server sent a message that is not JSON' });
    }
  });
  socket.addEventListener('close', (event: { code: number; reason: string }) =>
    queue.push({ kind: 'close', code: event.code, reason: event.reason }),
  );
  socket.addEventListener('error', () =>
    queue.push({ kind: 'close', code: -4, reason: 'socket error' }),
  );
}

/** Waits for the socket to open, authenticates and subscribes. */
async function handshake(
  core: ConcordCore,
  rpc: string,
  socket: WebSocketLike,
  queue: EventQueue,
  request: unknown,
): Promise<void> {
  await expect(core, rpc, queue, 'open');
  const { authorization, apiKey } = core.credentials();
  if (authorization !== undefined || apiKey !== undefined) {
    const auth = authorization !== undefined ? { authorization } : { api_key: apiKey };
    socket.send(JSON.stringify({ type: 'auth', ...auth }));
    await expect(core, rpc, queue, 'authenticated');
  }
  socket.send(JSON.stringify({ type: 'subscribe', id: SUBSCRIPTION_ID, rpc, request }));
  await expect(core, rpc, queue, 'subscribed');
}

/** Waits for a message of `type`; throws the server's error or a connection error. */
async function expect(
  core: ConcordCore,
  rpc: string,
  queue: EventQueue,
  type: string,
): Promise<void> {
  for (;;) {
    const event = await queue.next();
    if (event.kind === 'close') {
      throw closeError(rpc, event.code, event.reason, false);
    }
    if (event.data.type === type) {
      return;
    }
    if (event.data.type === 'error') {
      throw core.streamError(rpc, event.data.error);
    }
  }
}

async function* messages(
  core: ConcordCore,
  rpc: string,
  socket: WebSocketLike,
  queue: EventQueue,
): AsyncGenerator<unknown, void, undefined> {
  try {
    for (;;) {
      const event = await queue.next();
      if (event.kind === 'close') {
        throw closeError(rpc, event.code, event.reason, true);
      }
      const data = event.data;
      if (data.type === 'message' && data.id === SUBSCRIPTION_ID) {
        yield data.message;
      } else if (data.type === 'ping') {
        socket.send(JSON.stringify({ type: 'pong' }));
      } else if (data.type === 'complete') {
        return;
      } else if (data.type === 'error') {
        throw core.streamError(rpc, data.error);
      }
    }
  } finally {
    socket.close(1000, 'closed by the client');
  }
}

/** The error of a socket that ended: slow consumer, timeout, or a broken connection. */
function closeError(rpc: string, code: number, reason: string, open: boolean): Error {
  if (code === SLOW_CONSUMER_CLOSE) {
    return new SlowConsumerError(`${rpc}: closed by the server: ${reason || 'slow consumer'}`);
  }
  if (code === -1) {
    return new APITimeoutError(`${rpc}: WebSocket ${reason}`);
  }
  if (code === -2) {
    return new APIUserAbortError(`${rpc}: aborted`);
  }
  const text = `${rpc}: WebSocket closed (${code}${reason ? ` ${reason}` : ''})`;
  return open ? new StreamBroken(text) : new APIConnectionError(text);
}
