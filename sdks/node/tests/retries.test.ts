/** Retries: which failures are retried, how often, after how long, with which key. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  APIConnectionError,
  APITimeoutError,
  APIUserAbortError,
  InvalidArgumentError,
  UnavailableError,
} from '@concord/sdk';
import { client, hanging, json, problem } from './fake.js';

const LOCK = { lock: { name: 'a', owner: 'w', fencing_token: 1 } };

describe('retries', () => {
  it('honours a Retry-After date', async () => {
    const lines: string[] = [];
    const logger = { debug() {}, info: (m: string) => lines.push(m), warn() {}, error() {} };
    const past = new Date(Date.now() - 60_000).toUTCString();
    const { client: c } = client([json(429, {}, { 'Retry-After': past }), json(200, LOCK)], {
      logger,
      logLevel: 'info',
    });
    await c.locks.get('a');
    assert.ok(lines.some((line) => /retry 1 of 2 in 0ms/.test(line)));
  });

  it('retries 5xx, 408 and 429 answers, then succeeds', async () => {
    const { client: c, seen } = client(
      [problem(503, 'UNAVAILABLE'), json(408, {}), problem(429, 'RATE_LIMITED'), json(200, LOCK)],
      { maxRetries: 3 },
    );
    const answer = await c.locks.get('a');
    assert.equal(answer.lock?.fencing_token, 1);
    assert.equal(seen.length, 4);
  });

  it('gives up after maxRetries with the typed error of the last answer', async () => {
    const { client: c, seen } = client([problem(503, 'UNAVAILABLE'), problem(503, 'UNAVAILABLE')], {
      maxRetries: 1,
    });
    await assert.rejects(c.locks.get('a'), UnavailableError);
    assert.equal(seen.length, 2);
  });

  it('never retries a 4xx answer other than 408 and 429', async () => {
    const { client: c, seen } = client([problem(400, 'INVALID_ARGUMENT')]);
    await assert.rejects(c.locks.get('a'), InvalidArgumentError);
    assert.equal(seen.length, 1);
  });

  it('per-call maxRetries overrides the client', async () => {
    const { client: c, seen } = client([problem(500, 'INTERNAL')]);
    await assert.rejects(c.locks.get('a', { maxRetries: 0 }));
    assert.equal(seen.length, 1);
  });

  it('retries connection errors and reports APIConnectionError at the end', async () => {
    const { client: c, seen } = client(
      [new TypeError('fetch failed'), new TypeError('fetch failed')],
      {
        maxRetries: 1,
      },
    );
    const error = await c.locks.get('a').catch((e: unknown) => e);
    assert.ok(error instanceof APIConnectionError);
    assert.match(error.message, /fetch failed/);
    assert.equal(seen.length, 2);
  });

  it('honours Retry-After over the backoff', async () => {
    const lines: string[] = [];
    const logger = { debug() {}, info: (m: string) => lines.push(m), warn() {}, error() {} };
    const { client: c } = client([json(503, {}, { 'Retry-After': '0.05' }), json(200, LOCK)], {
      logger,
      logLevel: 'info',
    });
    await c.locks.get('a');
    const retries = lines.filter((line) => line.includes('retry'));
    assert.equal(retries.length, 1);
    assert.match(retries[0] ?? '', /retry 1 of 2 in 50ms/);
  });

  it('sends one Idempotency-Key per non-idempotent call, the same on every retry', async () => {
    const { client: c, seen } = client([
      problem(503, 'UNAVAILABLE'),
      json(200, LOCK),
      json(200, LOCK),
    ]);
    await c.locks.acquire('a', { owner: 'w', ttl: '30s' });
    await c.locks.acquire('a', { owner: 'w', ttl: '30s' });
    const keys = seen.map((s) => s.headers.get('idempotency-key'));
    assert.match(keys[0] ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(keys[1], keys[0]);
    assert.notEqual(keys[2], keys[0]);
  });

  it('uses the caller’s idempotency key, and sends none on idempotent calls', async () => {
    const { client: c, seen } = client([json(200, LOCK), json(200, LOCK)]);
    await c.locks.acquire('a', { owner: 'w', ttl: '30s' }, { idempotencyKey: 'mine-1' });
    await c.locks.get('a');
    assert.equal(seen[0]?.headers.get('idempotency-key'), 'mine-1');
    assert.equal(seen[1]?.headers.has('idempotency-key'), false);
  });

  it('times out an attempt after timeoutMs, retries it, then throws APITimeoutError', async () => {
    const { client: c, seen } = client([hanging, hanging], { timeoutMs: 20, maxRetries: 1 });
    await assert.rejects(c.locks.get('a'), APITimeoutError);
    assert.equal(seen.length, 2);
  });

  it('stops at once when the caller aborts, without retrying', async () => {
    const { client: c, seen } = client([hanging, hanging]);
    const controller = new AbortController();
    const call = c.locks.get('a', { signal: controller.signal });
    setImmediate(() => controller.abort());
    await assert.rejects(call, APIUserAbortError);
    assert.equal(seen.length, 1);
  });

  it('refuses an already aborted signal before sending', async () => {
    const { client: c, seen } = client([]);
    await assert.rejects(c.locks.get('a', { signal: AbortSignal.abort() }), APIUserAbortError);
    assert.equal(seen.length, 0);
  });
});
