/** Auto-pagination: `for await` over every item, and page-by-page access. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { client, json } from './fake.js';

const lock = (name: string) => ({ name, owner: 'w', fencing_token: 1 });

describe('pagination', () => {
  it('walks every item of every page with for await', async () => {
    const { client: c, seen } = client([
      json(200, { locks: [lock('a'), lock('b')], next_page_token: 't2' }),
      json(200, { locks: [lock('c')], next_page_token: '' }),
    ]);
    const names: string[] = [];
    for await (const l of c.locks.list({ prefix: 'x', page_size: 2 })) {
      names.push(l.name);
    }
    assert.deepEqual(names, ['a', 'b', 'c']);
    assert.equal(seen[0]?.url.search, '?prefix=x&page_size=2');
    assert.equal(seen[1]?.url.search, '?prefix=x&page_size=2&page_token=t2');
  });

  it('gives the first page on await, and the next ones on request', async () => {
    const { client: c } = client([
      json(200, { locks: [lock('a')], next_page_token: 't2' }),
      json(200, { locks: [lock('b')], next_page_token: '' }),
    ]);
    const first = await c.locks.list();
    assert.deepEqual(
      first.items.map((l) => l.name),
      ['a'],
    );
    assert.equal(first.body.next_page_token, 't2');
    assert.ok(first.hasNextPage());
    const second = await first.getNextPage();
    assert.deepEqual(
      second.items.map((l) => l.name),
      ['b'],
    );
    assert.equal(second.hasNextPage(), false);
    await assert.rejects(second.getNextPage(), RangeError);
  });

  it('starts at the page_token given', async () => {
    const { client: c, seen } = client([json(200, { locks: [], next_page_token: '' })]);
    const pages = [];
    for await (const page of (await c.locks.list({ page_token: 'p5' })).iterPages()) {
      pages.push(page);
    }
    assert.equal(pages.length, 1);
    assert.equal(seen[0]?.url.search, '?page_token=p5');
  });

  it('stops walking at the first error', async () => {
    const { client: c } = client(
      [
        json(200, { locks: [lock('a')], next_page_token: 't2' }),
        json(400, { code: 'INVALID_ARGUMENT' }),
      ],
      { maxRetries: 0 },
    );
    const names: string[] = [];
    await assert.rejects(async () => {
      for await (const l of c.locks.list()) {
        names.push(l.name);
      }
    }, /INVALID_ARGUMENT/);
    assert.deepEqual(names, ['a']);
  });
});
