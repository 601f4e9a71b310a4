/** Cache namespaces: look up and set keys, and watch a namespace's changes live. */

import type { CacheEntry, WatchCacheResponse } from '@concord/sdk';
import { badge, countdown, fill, h, json, table, when } from '../dom.js';
import { liveMarker, run, setLive, type ViewContext } from '../view.js';

export function cacheView(root: HTMLElement, ctx: ViewContext): void {
  const namespace = h('input', { placeholder: 'namespace', 'data-testid': 'namespace', required: true });
  const key = h('input', { placeholder: 'key', 'data-testid': 'key' });
  const value = h('input', { placeholder: 'JSON value (for Set)', 'data-testid': 'value' });
  const marker = liveMarker();
  const entry = h('div', { 'data-testid': 'entry' });
  const changes = h('div', { 'data-testid': 'changes' });
  const problems = h('div');
  const seen: WatchCacheResponse[] = [];
  let watching: AbortController | undefined;

  const show = (found: CacheEntry | undefined): void =>
    fill(
      entry,
      found
        ? h(
            'dl',
            {},
            h('dt', {}, 'Key'),
            h('dd', {}, `${found.namespace}/${found.key}`),
            h('dt', {}, 'ETag'),
            h('dd', {}, h('code', {}, found.etag)),
            h('dt', {}, 'Expires in'),
            h('dd', {}, countdown(found.expires_at)),
            h('dt', {}, 'Value'),
            h('dd', {}, h('pre', {}, json(found.value))),
          )
        : null,
    );
  const watch = (): void => {
    watching?.abort();
    const controller = new AbortController();
    watching = controller;
    ctx.signal.addEventListener('abort', () => controller.abort());
    seen.length = 0;
    fill(changes);
    run(ctx, problems, async () => {
      const stream = await ctx.client.cache.watch(namespace.value, {}, { signal: controller.signal });
      setLive(marker, true);
      try {
        for await (const change of stream) {
          seen.unshift(change);
          fill(
            changes,
            table<WatchCacheResponse>(
              [
                ['Change', (c) => badge(c.type)],
                ['Key', (c) => c.key],
                ['ETag', (c) => c.etag],
                ['At', (c) => when(c.occurred_at)],
              ],
              seen.slice(0, 100),
            ),
          );
        }
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      } finally {
        if (watching === controller) setLive(marker, false);
      }
    });
  };
  const get = (): void =>
    run(ctx, problems, async () => {
      problems.replaceChildren();
      show((await ctx.client.cache.get(namespace.value, key.value)).entry);
    });
  const set = (): void =>
    run(ctx, problems, async () => {
      problems.replaceChildren();
      let parsed: unknown;
      try {
        parsed = JSON.parse(value.value);
      } catch {
        parsed = value.value;
      }
      const params = { value: parsed as CacheEntry['value'] & {} };
      show((await ctx.client.cache.set(namespace.value, key.value, params)).entry);
    });

  fill(
    root,
    h('h2', {}, 'Cache ', marker),
    h(
      'p',
      { class: 'hint' },
      'The contract has no listing of namespaces or keys: open a namespace to watch its changes, look keys up by name.',
    ),
    h(
      'form',
      { class: 'bar', onsubmit: (e: Event) => (e.preventDefault(), watch()) },
      namespace,
      h('button', { type: 'submit', 'data-testid': 'open' }, 'Open namespace'),
    ),
    h(
      'form',
      { class: 'bar', onsubmit: (e: Event) => (e.preventDefault(), get()) },
      key,
      value,
      h('button', { type: 'submit', 'data-testid': 'get' }, 'Get'),
      h('button', { type: 'button', 'data-testid': 'set', onclick: set }, 'Set'),
    ),
    problems,
    entry,
    h('h3', {}, 'Changes'),
    changes,
  );
}
