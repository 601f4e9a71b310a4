/** Error answers become the typed error of their catalogue code. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  APIError,
  APIResponseError,
  ConcordError,
  ERROR_CODES,
  InternalError,
  LockConflictError,
  NotFoundError,
  UnavailableError,
  WrongExpectedRevisionError,
} from '@concord/sdk';
import { client, json, problem } from './fake.js';

describe('errors', () => {
  it('maps a catalogue body to its class, with status, code, details and request id', async () => {
    const body = problem(409, 'LOCK_CONFLICT', { details: { holder: 'bob' }, request_id: 'r-9' });
    const { client: c } = client([body]);
    const error = await c.locks.acquire('a', { owner: 'w', ttl: '1s' }).catch((e: unknown) => e);
    assert.ok(error instanceof LockConflictError);
    assert.ok(error instanceof APIError);
    assert.ok(error instanceof ConcordError);
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'LockConflictError');
    assert.equal(error.status, 409);
    assert.equal(error.code, 'LOCK_CONFLICT');
    assert.deepEqual(error.details, { holder: 'bob' });
    assert.equal(error.requestId, 'r-9');
    assert.equal(error.rpc, 'AcquireLock');
    assert.equal(error.response?.status, 409);
    assert.match(error.message, /AcquireLock: LOCK_CONFLICT \(HTTP 409\): LOCK_CONFLICT happened/);
  });

  it('has a class for every code of the catalogue', async () => {
    for (const code of Object.keys(ERROR_CODES)) {
      const { status } = ERROR_CODES[code as keyof typeof ERROR_CODES];
      const { client: c } = client([problem(status, code)], { maxRetries: 0 });
      const error = await c.health.live().catch((e: unknown) => e);
      assert.ok(error instanceof APIError, code);
      assert.equal(error.code, code);
      assert.notEqual(error.constructor, APIError, `${code} has no class of its own`);
    }
  });

  it('reads the request id from X-Request-ID when the body has none, ignores RFC 9457 members', async () => {
    const body = json(
      412,
      {
        code: 'WRONG_EXPECTED_REVISION',
        message: 'm',
        type: 'about:blank',
        title: 't',
        status: 412,
      },
      { 'X-Request-ID': 'hdr-1' },
    );
    const { client: c } = client([body]);
    const error = await c.events.getMetadata('s').catch((e: unknown) => e);
    assert.ok(error instanceof WrongExpectedRevisionError);
    assert.equal(error.requestId, 'hdr-1');
    assert.deepEqual(error.details, {});
  });

  it('derives the code from the status when the body is not a Concord error', async () => {
    const html = new Response('<h1>gone</h1>', { status: 404 });
    const { client: c } = client([html, new Response('bad gateway', { status: 502 })], {
      maxRetries: 0,
    });
    await assert.rejects(c.locks.get('a'), NotFoundError);
    const error = await c.locks.get('a').catch((e: unknown) => e);
    assert.ok(error instanceof UnavailableError);
    assert.match(error.message, /bad gateway/);
  });

  it('keeps a code this SDK does not know as a plain APIError', async () => {
    const { client: c } = client([problem(418, 'TEAPOT')]);
    const error = await c.locks.get('a').catch((e: unknown) => e);
    assert.ok(error instanceof APIError);
    assert.equal(error.constructor, APIError);
    assert.equal(error.code, 'TEAPOT');
  });

  it('reports an answer that is not JSON as APIResponseError', async () => {
    const { client: c } = client([new Response('not json', { status: 200 })]);
    await assert.rejects(c.locks.get('a'), APIResponseError);
  });

  it('gives retryable 5xx codes their classes', async () => {
    const { client: c } = client([problem(500, 'INTERNAL')], { maxRetries: 0 });
    await assert.rejects(c.locks.get('a'), InternalError);
  });
});
