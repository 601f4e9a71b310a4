/**
 * Live tests against the server of CONCORD_TEST_BASE_URL / CONCORD_TEST_API_KEY (scripts/
 * test-sdks.sh starts one with test hooks on). Without them the suite is skipped, and says so.
 */

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  APITimeoutError,
  type ClientOptions,
  Concord,
  InvalidArgumentError,
  LockConflictError,
  UnauthenticatedError,
  UnavailableError,
} from '@concord/sdk';
import WebSocket from 'ws';

const baseURL = process.env.CONCORD_TEST_BASE_URL;
const apiKey = process.env.CONCORD_TEST_API_KEY;
const skip = baseURL && apiKey ? false : 'CONCORD_TEST_BASE_URL / CONCORD_TEST_API_KEY not set';
const run = `ts${randomUUID().slice(0, 8)}`;

function connect(options: ClientOptions = {}): Concord {
  return new Concord({ baseURL, apiKey, retryBackoff: { initialMs: 10, maxMs: 50 }, ...options });
}

describe('live', { skip }, () => {
  it('acquires, conflicts with a typed error, releases; tokens grow', async () => {
    const client = connect();
    const name = `${run}-lock`;
    const first = await client.locks.acquire(name, { owner: 'a', ttl: '30s' });
    const error = await client.locks
      .acquire(name, { owner: 'b', ttl: '30s' })
      .catch((e: unknown) => e);
    assert.ok(error instanceof LockConflictError);
    assert.equal(error.status, 409);
    assert.match(error.requestId, /.+/);
    const token = first.lock?.fencing_token ?? -1;
    await client.locks.release(name, { owner: 'a', fencing_token: token });
    const second = await client.locks.acquire(name, { owner: 'b', ttl: '30s' });
    assert.ok((second.lock?.fencing_token ?? 0) > token);
  });

  it('replays a keyed call and says so in the raw response', async () => {
    const client = connect();
    const name = `${run}-replay`;
    const key = `${run}-key`;
    const first = await client.locks.acquire(
      name,
      { owner: 'a', ttl: '30s' },
      { idempotencyKey: key },
    );
    const again = await client.locks
      .acquire(name, { owner: 'a', ttl: '30s' }, { idempotencyKey: key })
      .withResponse();
    assert.equal(again.response.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.data.lock?.fencing_token, first.lock?.fencing_token);
    assert.match(again.requestId, /.+/);
  });

  it('walks every page of a listing', async () => {
    const client = connect();
    for (const i of [1, 2, 3, 4, 5]) {
      await client.locks.acquire(`${run}-page-${i}`, { owner: 'a', ttl: '30s' });
    }
    const names: string[] = [];
    for await (const lock of client.locks.list({ prefix: `${run}-page-`, page_size: 2 })) {
      names.push(lock.name);
    }
    assert.deepEqual(
      names,
      [1, 2, 3, 4, 5].map((i) => `${run}-page-${i}`),
    );
    const page = await client.locks.list({ prefix: `${run}-page-`, page_size: 2 });
    assert.equal(page.items.length, 2);
    assert.ok(page.hasNextPage());
  });

  it('stores and returns a JSON null, sends an explicit zero', async () => {
    const client = connect();
    await client.cache.set(run, 'null', { value: null });
    const { entry } = await client.cache.get(run, 'null');
    assert.equal(entry?.value, null);
    assert.ok(entry !== undefined && 'value' in entry);
    const stream = `${run}-zero`;
    await client.events.append(stream, { events: [{ event_id: randomUUID(), type: 't' }] });
    await client.events.deleteStream(stream, { expected_revision: 0 });
  });

  it('retries a failing call until it succeeds, and gives up with the typed error', async () => {
    const fault = (key: string, n: number) => ({
      'X-Concord-Test-Fault': `${run}-${key};${n};UNAVAILABLE`,
    });
    const ok = connect({ defaultHeaders: fault('ok', 2), maxRetries: 2 });
    const { status } = await ok.health.live();
    assert.equal(status, 'SERVING');
    const failing = connect({ defaultHeaders: fault('ko', 5), maxRetries: 1 });
    await assert.rejects(failing.health.live(), UnavailableError);
  });

  it('times out an attempt that the server holds', async () => {
    const client = connect();
    const name = `${run}-slow`;
    await client.locks.acquire(name, { owner: 'a', ttl: '30s' });
    const waiting = client.locks.acquire(
      name,
      { owner: 'b', ttl: '30s', wait_timeout: '20s' },
      { timeoutMs: 300, maxRetries: 0 },
    );
    await assert.rejects(waiting, APITimeoutError);
  });

  it('refuses a call without a credential', async () => {
    const anonymous = connect({ apiKey: null });
    await assert.rejects(anonymous.locks.get(`${run}-x`), UnauthenticatedError);
  });

  for (const transport of ['sse', 'websocket'] as const) {
    it(`subscribes over ${transport}: catch-up, marker, live event`, async () => {
      const client = connect({ streamTransport: transport, WebSocket });
      const stream = `${run}-${transport}`;
      await client.events.append(stream, {
        events: [
          { event_id: randomUUID(), type: 'one', data: null },
          { event_id: randomUUID(), type: 'two', data: { n: 2 } },
        ],
      });
      const subscription = await client.events.subscribe(stream, { from_revision: 0 });
      const seen: string[] = [];
      for await (const message of subscription) {
        if (message.caught_up) {
          seen.push('caught_up');
          await client.events.append(stream, {
            events: [{ event_id: randomUUID(), type: 'three' }],
          });
          continue;
        }
        seen.push(message.event?.type ?? '?');
        if (seen.length === 4) {
          break;
        }
      }
      assert.deepEqual(seen, ['one', 'two', 'caught_up', 'three']);
    });

    it(`refuses a bad subscription over ${transport} with a typed error`, async () => {
      const client = connect({ streamTransport: transport, WebSocket });
      await assert.rejects(client.events.subscribe('bad name!'), InvalidArgumentError);
    });
  }

  it('watches lock changes', async () => {
    const client = connect();
    const prefix = `${run}-watch-`;
    const stream = await client.locks.watch({ prefix });
    let grants = 0;
    const acquire = async () => {
      // The watch may start listening just after it answered: grant until an event shows.
      while (grants < 50) {
        grants++;
        await client.locks.acquire(`${prefix}${grants}`, { owner: 'a', ttl: '30s' });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const granting = acquire();
    for await (const change of stream) {
      assert.equal(change.type, 'ACQUIRED');
      assert.ok(change.lock?.name.startsWith(prefix));
      break;
    }
    grants = 50;
    await granting;
  });
});
