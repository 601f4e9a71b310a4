/**
 * Credentials stay with the base URL's origin (docs/sdk-helpers.md §4): real HTTP servers on
 * loopback, one redirecting to itself and to the other.
 */

import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Concord, CrossOriginRedirectError } from '@concord/sdk';

/** A server on a free loopback port that records the headers of each request it gets. */
async function serve(route: (path: string) => [number, Record<string, string>, string]) {
  const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
  const server: Server = createServer((request, response) => {
    seen.push({ path: request.url ?? '', headers: request.headers });
    const [status, headers, body] = route(request.url ?? '');
    response.writeHead(status, headers).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, seen, url: `http://127.0.0.1:${port}` };
}

describe('redirects', () => {
  let home: Awaited<ReturnType<typeof serve>>;
  let other: Awaited<ReturnType<typeof serve>>;

  before(async () => {
    other = await serve(() => [
      200,
      { 'content-type': 'application/json' },
      '{"status":"SERVING"}',
    ]);
    home = await serve((path) => {
      if (path === '/v1/health/live') {
        return [307, { location: `${other.url}/v1/health/live` }, ''];
      }
      if (path === '/v1/locks/a') {
        return [308, { location: '/v1/locks/b' }, ''];
      }
      return [200, { 'content-type': 'application/json' }, '{"lock":{"name":"b"}}'];
    });
  });

  after(() => {
    home.server.close();
    other.server.close();
  });

  it('follows a redirect to the same origin with the credential', async () => {
    const client = new Concord({ baseURL: home.url, apiKey: 'secret-key', maxRetries: 0 });
    const { lock } = await client.locks.get('a');
    assert.equal(lock?.name, 'b');
    assert.equal(home.seen.at(-1)?.path, '/v1/locks/b');
    assert.equal(home.seen.at(-1)?.headers['x-api-key'], 'secret-key');
  });

  it('refuses a redirect to another origin and sends it nothing', async () => {
    const client = new Concord({ baseURL: home.url, bearerToken: 'secret-jwt', maxRetries: 2 });
    const error = await client.health.live().catch((e: unknown) => e);
    assert.ok(error instanceof CrossOriginRedirectError);
    assert.equal(error.location, `${other.url}/v1/health/live`);
    assert.equal(other.seen.length, 0);
    assert.equal(home.seen.filter((s) => s.path === '/v1/health/live').length, 1);
  });

  it('lets explicit options win over the environment', async () => {
    process.env.CONCORD_BEARER_TOKEN = 'env-token';
    process.env.CONCORD_BASE_URL = 'http://127.0.0.1:1';
    try {
      const client = new Concord({ baseURL: home.url, apiKey: 'explicit-key', maxRetries: 0 });
      await client.locks.get('c');
      const headers = home.seen.at(-1)?.headers;
      assert.equal(headers?.['x-api-key'], 'explicit-key');
      assert.equal(headers?.authorization, undefined);
    } finally {
      delete process.env.CONCORD_BEARER_TOKEN;
      delete process.env.CONCORD_BASE_URL;
    }
  });
});
