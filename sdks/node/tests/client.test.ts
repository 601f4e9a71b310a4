/** Requests: URL, path and query encoding, bodies and presence, headers, auth, raw responses. */

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Concord, duration, durationToMs, VERSION } from '@concord/sdk';
import { client, json, scriptedFetch } from './fake.js';

describe('client', () => {
  afterEach(() => {
    delete process.env.CONCORD_BASE_URL;
    delete process.env.CONCORD_API_KEY;
    delete process.env.CONCORD_BEARER_TOKEN;
  });

  it('sends the path encoded, the rest as the JSON body', async () => {
    const { client: c, seen } = client([json(200, {})]);
    await c.locks.acquire('a/b c', { owner: 'w', ttl: '30s', wait_timeout: '0s' });
    const request = seen[0];
    assert.equal(request?.method, 'POST');
    assert.equal(request?.url.pathname, '/v1/locks/a%2Fb%20c:acquire');
    assert.deepEqual(request?.body, { owner: 'w', ttl: '30s', wait_timeout: '0s' });
    assert.equal(request?.headers.get('content-type'), 'application/json');
  });

  it('sends a JSON null value, and leaves absent fields out', async () => {
    const { client: c, seen } = client([json(200, {}), json(200, {})]);
    await c.cache.set('ns', 'k', { value: null });
    await c.events.deleteStream('s', { expected_revision: 0 });
    assert.deepEqual(seen[0]?.body, { value: null });
    assert.equal(seen[1]?.url.search, '?expected_revision=0');
  });

  it('puts the fields of body-less calls in the query, lists as repeated keys', async () => {
    const { client: c, seen } = client([json(200, { instances: [], next_page_token: '' })]);
    await c.discovery.listInstances('svc', { tags: ['a', 'b'], include_unhealthy: true });
    assert.equal(seen[0]?.url.pathname, '/v1/services/svc/instances');
    assert.equal(seen[0]?.url.search, '?tags=a&tags=b&include_unhealthy=true');
    assert.equal(seen[0]?.body, undefined);
  });

  it('refuses an empty path parameter before sending', async () => {
    const { client: c, seen } = client([]);
    await assert.rejects(c.locks.get(''), TypeError);
    assert.equal(seen.length, 0);
  });

  it('identifies itself and authenticates with the API key', async () => {
    const { client: c, seen } = client([json(200, {})]);
    await c.health.live();
    const headers = seen[0]?.headers;
    assert.equal(headers?.get('x-api-key'), 'k1');
    assert.equal(headers?.get('x-concord-client'), `concord-node/${VERSION}`);
    assert.equal(headers?.get('user-agent'), `concord-node/${VERSION}`);
    assert.equal(headers?.get('accept'), 'application/json');
  });

  it('prefers the bearer token, and merges client and call headers (null removes)', async () => {
    const { client: c, seen } = client([json(200, {})], {
      bearerToken: 'jwt',
      defaultHeaders: { 'X-Team': 'a', 'X-Concord-Client': null },
    });
    await c.health.live({ headers: { 'X-Call': '1', 'X-Team': 'b' } });
    const headers = seen[0]?.headers;
    assert.equal(headers?.get('authorization'), 'Bearer jwt');
    assert.equal(headers?.has('x-api-key'), false);
    assert.equal(headers?.get('x-team'), 'b');
    assert.equal(headers?.get('x-call'), '1');
    assert.equal(headers?.has('x-concord-client'), false);
  });

  it('reads the base URL and credentials from the environment; null drops them', async () => {
    process.env.CONCORD_BASE_URL = 'http://env.test:9000/';
    process.env.CONCORD_API_KEY = 'env-key';
    const { fetch, seen } = scriptedFetch([json(200, {}), json(200, {})]);
    await new Concord({ fetch }).health.live();
    await new Concord({ fetch, apiKey: null }).health.live();
    assert.equal(seen[0]?.url.href, 'http://env.test:9000/v1/health/live');
    assert.equal(seen[0]?.headers.get('x-api-key'), 'env-key');
    assert.equal(seen[1]?.headers.has('x-api-key'), false);
  });

  it('gives the raw response and request id with withResponse()', async () => {
    const answer = json(200, { status: 'SERVING' }, { 'X-Request-ID': 'rid-7', 'X-Extra': 'y' });
    const { client: c } = client([answer]);
    const { data, response, requestId } = await c.health.live().withResponse();
    assert.equal(data.status, 'SERVING');
    assert.equal(response.headers.get('x-extra'), 'y');
    assert.equal(requestId, 'rid-7');
  });

  it('rejects bad options with clear errors', () => {
    assert.throws(() => new Concord({ maxRetries: -1 }), RangeError);
    assert.throws(() => new Concord({ timeoutMs: 0 }), RangeError);
    assert.throws(() => new Concord({ logLevel: 'loud' as 'info' }), RangeError);
  });

  it('converts durations both ways', () => {
    assert.equal(duration(0), '0s');
    assert.equal(duration(1500), '1.500s');
    assert.equal(duration(30_000), '30s');
    assert.equal(durationToMs('0.250s'), 250);
    assert.equal(durationToMs('30s'), 30_000);
    assert.throws(() => durationToMs('30'), RangeError);
    assert.throws(() => duration(-1), RangeError);
  });

  it('logs requests with credentials redacted, only when asked', async () => {
    const lines: string[] = [];
    const logger = {
      debug: (m: string, h?: unknown) => lines.push(`${m} ${JSON.stringify(h)}`),
      info: () => {},
      warn: () => {},
      error: () => {},
    };
    const quiet = client([json(200, {})], { logger });
    await quiet.client.health.live();
    assert.equal(lines.length, 0);
    const loud = client([json(200, {})], { logger, logLevel: 'debug' });
    await loud.client.health.live();
    assert.ok(lines.some((l) => l.includes('"x-api-key":"***"')));
    assert.ok(!lines.some((l) => l.includes('k1')));
  });

  it('calls the global fetch unbound from the client, as browsers require', async () => {
    const original = globalThis.fetch;
    let receiver: unknown = 'unset';
    globalThis.fetch = function (this: unknown) {
      receiver = this;
      return Promise.resolve(new Response('{"status":"SERVING","version":"1"}', { status: 200 }));
    } as typeof fetch;
    try {
      await new Concord({ baseURL: 'http://example.test', apiKey: 'k1' }).health.live();
    } finally {
      globalThis.fetch = original;
    }
    // A browser's fetch throws "Illegal invocation" unless `this` is the global object.
    assert.equal(receiver, globalThis);
  });
});
