/** The `traceparent` request option: sent as the W3C header; an explicit header wins. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { client, json } from './fake.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('trace context', () => {
  it('sends the traceparent of the call, and none without one', async () => {
    const { client: c, seen } = client([json(200, {}), json(200, {})]);
    await c.health.live({ traceparent: TRACEPARENT });
    await c.health.live();
    assert.equal(seen[0]?.headers.get('traceparent'), TRACEPARENT);
    assert.equal(seen[1]?.headers.get('traceparent'), null);
  });

  it('lets a traceparent in the call headers win', async () => {
    const { client: c, seen } = client([json(200, {})]);
    const mine = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await c.health.live({ traceparent: TRACEPARENT, headers: { traceparent: mine } });
    assert.equal(seen[0]?.headers.get('traceparent'), mine);
  });
});
