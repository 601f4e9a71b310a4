/** SSE resume over a real HTTP server whose chunked bodies are cut mid-stream. */

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  APIConnectionError,
  type ClientOptions,
  Concord,
  PermissionDeniedError,
  UnavailableError,
} from '@concord/sdk';

/** One scripted answer of the fake server. */
type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A request the fake server received. */
interface Received {
  url: string;
  headers: IncomingMessage['headers'];
}

/** A local HTTP server that plays `handlers` in order and records the requests. */
class FakeServer {
  readonly received: Received[] = [];
  handlers: Handler[] = [];
  readonly #server: Server = createServer((request, response) => this.#answer(request, response));

  /** Listens on a free port. */
  async start(): Promise<void> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
  }

  /** The server's URL. */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Stops listening and drops open connections. */
  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, 'close');
  }

  /** Starts a test: these answers, no requests seen yet. */
  play(...handlers: Handler[]): void {
    this.handlers = handlers;
    this.received.length = 0;
  }

  #answer(request: IncomingMessage, response: ServerResponse): void {
    this.received.push({ url: request.url ?? '', headers: request.headers });
    const handler = this.handlers.shift();
    if (handler === undefined) {
      response.writeHead(500).end('unexpected request');
      return;
    }
    handler(request, response);
  }
}

/** An SSE frame of a stream event at `revision`, with its id. */
const frame = (revision: number): string =>
  `id: ${revision}\ndata: ${JSON.stringify({ event: { stream: 's', revision } })}\n\n`;

/** The `caught_up` frame (no id, like the server's). */
const CAUGHT_UP = 'data: {"caught_up":true}\n\n';

/** Sends `frames` in a chunked SSE body, then cuts the connection without ending the body. */
function cut(...frames: string[]): Handler {
  return (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.flushHeaders();
    for (const text of frames) {
      response.write(text);
    }
    setTimeout(() => response.socket?.destroy(), 50);
  };
}

/** The in-band error a draining server ends its streams with. */
const DRAINED = `event: error\ndata: ${JSON.stringify({
  code: 'UNAVAILABLE',
  message: 'the server is shutting down',
  details: { reason: 'shutting_down' },
})}\n\n`;

/** Sends `frames` in an SSE body that ends properly. */
function end(...frames: string[]): Handler {
  return (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.end(frames.join(''));
  };
}

/** An error answer with the contract's body. */
function refuse(status: number, code: string, headers: Record<string, string> = {}): Handler {
  return (_request, response) => {
    const body = { code, message: `${code} happened`, details: {}, request_id: 'r1' };
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  };
}

/** What reading a stream to its end gave: the messages, then the error that ended it, if any. */
async function drain(
  messages: AsyncIterable<unknown>,
): Promise<{ got: unknown[]; error: unknown }> {
  const got: unknown[] = [];
  try {
    for await (const message of messages) {
      got.push(message);
    }
    return { got, error: undefined };
  } catch (error) {
    return { got, error };
  }
}

/** The revisions (or `caught_up`) of subscription messages. */
function revisions(messages: unknown[]): (number | string)[] {
  return messages.map((message) => {
    const m = message as { event?: { revision?: number }; caught_up?: boolean };
    return m.caught_up === true ? 'caught_up' : (m.event?.revision ?? -1);
  });
}

describe('SSE resume', () => {
  const server = new FakeServer();
  const connect = (options: ClientOptions = {}): Concord =>
    new Concord({
      baseURL: server.url,
      apiKey: 'k1',
      maxRetries: 3,
      retryBackoff: { initialMs: 1, maxMs: 2 },
      ...options,
    });

  before(() => server.start());
  after(() => server.stop());

  it('reopens a cut stream with Last-Event-ID and goes on without duplicates', async () => {
    server.play(cut(frame(0), frame(1)), end(frame(2), CAUGHT_UP));
    const { got, error } = await drain(connect().events.subscribe('s', { from_revision: 0 }));
    assert.equal(error, undefined);
    assert.deepEqual(revisions(got), [0, 1, 2, 'caught_up']);
    const [first, second] = server.received;
    assert.equal(first?.headers['last-event-id'], undefined);
    assert.equal(second?.headers['last-event-id'], '1');
    assert.equal(second?.url, first?.url);
    assert.equal(second?.headers['x-api-key'], 'k1');
  });

  it('reopens after a draining server’s in-band UNAVAILABLE like after a break', async () => {
    server.play(end(frame(0), frame(1), DRAINED), end(frame(2), CAUGHT_UP));
    const { got, error } = await drain(connect().events.subscribe('s', { from_revision: 0 }));
    assert.equal(error, undefined);
    assert.deepEqual(revisions(got), [0, 1, 2, 'caught_up']);
    assert.equal(server.received[1]?.headers['last-event-id'], '1');
  });

  it('raises an in-band UNAVAILABLE it cannot resume after: no id yet, or maxRetries 0', async () => {
    for (const [frames, maxRetries] of [
      [[DRAINED], 3],
      [[frame(0), DRAINED], 0],
    ] as const) {
      server.play(end(...frames), end(frame(1)));
      const stream = connect().events.subscribe('s', { from_revision: 0 }, { maxRetries });
      const { error } = await drain(stream);
      assert.ok(error instanceof UnavailableError);
      assert.deepEqual(error.details, { reason: 'shutting_down' });
      assert.equal(server.received.length, 1);
    }
  });

  it('raises an in-band error other than UNAVAILABLE without reopening', async () => {
    const denied = 'event: error\ndata: {"code":"PERMISSION_DENIED","message":"no"}\n\n';
    server.play(end(frame(0), denied), end(frame(1)));
    const { got, error } = await drain(connect().events.subscribe('s', { from_revision: 0 }));
    assert.deepEqual(revisions(got), [0]);
    assert.ok(error instanceof PermissionDeniedError);
    assert.equal(server.received.length, 1);
  });

  it('ignores an id-only frame as a message but resumes from its id', async () => {
    server.play(cut('id: 5\n\n'), end(frame(6)));
    const { got, error } = await drain(connect().events.subscribe('s'));
    assert.equal(error, undefined);
    assert.deepEqual(revisions(got), [6]);
    assert.equal(server.received[1]?.headers['last-event-id'], '5');
  });

  it('does not reopen a stream without ids', async () => {
    server.play(cut('data: {"type":"ACQUIRED"}\n\n'), end());
    const { got, error } = await drain(connect().locks.watch());
    assert.equal(got.length, 1);
    assert.ok(error instanceof APIConnectionError);
    assert.equal(server.received.length, 1);
  });

  it('raises the cut with maxRetries 0, the call’s option winning over the client’s', async () => {
    server.play(cut(frame(0)), end(frame(1)));
    const stream = connect().events.subscribe('s', { from_revision: 0 }, { maxRetries: 0 });
    const { got, error } = await drain(stream);
    assert.deepEqual(revisions(got), [0]);
    assert.ok(error instanceof APIConnectionError);
    assert.equal(server.received.length, 1);
  });

  it('gives up after maxRetries failed reopen attempts in a row', async () => {
    server.play(
      cut(frame(0)),
      refuse(503, 'UNAVAILABLE'),
      cut(),
      refuse(503, 'UNAVAILABLE'),
      end(frame(1)),
    );
    const { got, error } = await drain(connect().events.subscribe('s', { from_revision: 0 }));
    assert.deepEqual(revisions(got), [0]);
    assert.ok(error instanceof APIConnectionError);
    assert.equal(server.received.length, 4);
  });

  it('counts failed attempts again from zero once a message arrives', async () => {
    server.play(cut(frame(0)), cut(frame(1)), cut(frame(2)), end(frame(3)));
    const client = connect({ maxRetries: 1 });
    const { got, error } = await drain(client.events.subscribe('s', { from_revision: 0 }));
    assert.equal(error, undefined);
    assert.deepEqual(revisions(got), [0, 1, 2, 3]);
    assert.deepEqual(
      server.received.map((r) => r.headers['last-event-id']),
      [undefined, '0', '1', '2'],
    );
  });

  it('raises the typed error of a reopen the server refuses', async () => {
    server.play(cut(frame(0)), refuse(403, 'PERMISSION_DENIED'));
    const { got, error } = await drain(connect().events.subscribe('s', { from_revision: 0 }));
    assert.deepEqual(revisions(got), [0]);
    assert.ok(error instanceof PermissionDeniedError);
    assert.equal(server.received.length, 2);
  });

  it('waits the Retry-After of a refused reopen', async () => {
    server.play(cut(frame(0)), refuse(503, 'UNAVAILABLE', { 'retry-after': '0.4' }), end(frame(1)));
    const stream = connect().events.subscribe('s', { from_revision: 0 });
    const started = Date.now();
    const { got, error } = await drain(stream);
    assert.equal(error, undefined);
    assert.deepEqual(revisions(got), [0, 1]);
    assert.ok(Date.now() - started >= 400, `resumed after ${Date.now() - started}ms`);
  });

  it('ends quietly when the signal aborts during the backoff, sending nothing more', async () => {
    server.play(cut(frame(0)), end(frame(1)));
    const controller = new AbortController();
    const client = connect({ retryBackoff: { initialMs: 5_000, maxMs: 5_000 } });
    const stream = client.events.subscribe(
      's',
      { from_revision: 0 },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const { got, error } = await drain(stream);
    assert.equal(error, undefined);
    assert.deepEqual(revisions(got), [0]);
    assert.ok(Date.now() - started < 2_000);
    assert.equal(server.received.length, 1);
  });

  it('ends quietly when closed during the backoff', async () => {
    server.play(cut(frame(0)), end(frame(1)));
    const client = connect({ retryBackoff: { initialMs: 5_000, maxMs: 5_000 } });
    const stream = await client.events.subscribe('s', { from_revision: 0 });
    setTimeout(() => stream.close(), 300);
    const { got, error } = await drain(stream);
    assert.equal(error, undefined);
    assert.deepEqual(revisions(got), [0]);
    assert.equal(server.received.length, 1);
  });
});
