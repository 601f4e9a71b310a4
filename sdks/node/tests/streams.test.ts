/** Server streams over SSE: event parsing, typed errors in the stream, reconnects with resume. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { APIConnectionError, InvalidArgumentError, NotFoundError } from '@concord/sdk';
import { client, problem, sse } from './fake.js';

const event = (revision: number) => ({ event: { stream: 's', revision } });

describe('streams', () => {
  it('parses events split across chunks, CRLF endings, comments and multi-line data', async () => {
    const chunks = [
      ': keep-alive\r\n\r',
      '\ndata: {"type":"ACQ',
      'UIRED","lock":{"name":"a"}}\r\n\r\n',
      'event: unknown-kind\ndata: {}\n\n',
      'data: {"type":\ndata: "RELEASED"}\n\n',
    ];
    const { client: c, seen } = client([sse(chunks)]);
    const types = [];
    for await (const message of c.locks.watch({ prefix: 'a' })) {
      types.push(message.type);
    }
    assert.deepEqual(types, ['ACQUIRED', 'RELEASED']);
    assert.equal(seen[0]?.headers.get('accept'), 'text/event-stream');
    assert.equal(seen[0]?.url.search, '?prefix=a');
  });

  it('throws the typed error of an `event: error` frame', async () => {
    const error = '{"code":"NOT_FOUND","message":"gone","details":{},"request_id":"r1"}';
    const { client: c } = client([
      sse([`data: ${JSON.stringify(event(0))}\n\n`, `event: error\ndata: ${error}\n\n`]),
    ]);
    const got: unknown[] = [];
    const failure = await (async () => {
      for await (const message of c.events.subscribe('s', { from_revision: 0 })) {
        got.push(message);
      }
    })().catch((e: unknown) => e);
    assert.equal(got.length, 1);
    assert.ok(failure instanceof NotFoundError);
    assert.equal(failure.status, 404);
    assert.equal(failure.requestId, 'r1');
  });

  it('fails the open with the typed error of a refused subscription', async () => {
    const { client: c } = client([problem(400, 'INVALID_ARGUMENT')]);
    await assert.rejects(c.events.subscribe('s'), InvalidArgumentError);
  });

  it('ends with APIConnectionError when a connection without ids breaks, never re-opening', async () => {
    const { client: c, seen } = client([
      sse([`data: ${JSON.stringify(event(0))}\n\n`], new TypeError('terminated')),
    ]);
    const revisions: number[] = [];
    const failure = await (async () => {
      for await (const message of c.events.subscribe('s', { from_revision: 0 })) {
        revisions.push(message.event?.revision ?? -1);
      }
    })().catch((e: unknown) => e);
    assert.deepEqual(revisions, [0]);
    assert.ok(failure instanceof APIConnectionError);
    assert.equal(seen.length, 1);
  });

  it('ends quietly when the call’s signal aborts', async () => {
    const controller = new AbortController();
    const { client: c } = client([
      (request) => {
        const body = new ReadableStream<Uint8Array>({
          start(stream) {
            stream.enqueue(new TextEncoder().encode('data: {"type":"ACQUIRED"}\n\n'));
            request.signal?.addEventListener('abort', () => stream.error(request.signal?.reason));
          },
        });
        return new Response(body, { status: 200 });
      },
    ]);
    const types = [];
    for await (const message of c.locks.watch({}, { signal: controller.signal })) {
      types.push(message.type);
      controller.abort();
    }
    assert.deepEqual(types, ['ACQUIRED']);
  });

  it('ends quietly when closed, and can be read only once', async () => {
    const { client: c } = client([
      sse(['data: {"type":"ACQUIRED"}\n\n', 'data: {"type":"EXPIRED"}\n\n']),
    ]);
    const stream = await c.locks.watch();
    const seenTypes = [];
    for await (const message of stream) {
      seenTypes.push(message.type);
      stream.close();
    }
    assert.deepEqual(seenTypes, ['ACQUIRED']);
    assert.throws(() => stream[Symbol.asyncIterator](), TypeError);
  });
});
