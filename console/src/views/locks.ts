/** Live locks: holder, fencing token, expiry countdown; kept current by a watch. */

import type { Lock } from '@concord/sdk';
import { countdown, fill, h, table, when } from '../dom.js';
import { every, liveMarker, run, setLive, type ViewContext } from '../view.js';

export function locksView(root: HTMLElement, ctx: ViewContext): void {
  const locks = new Map<string, Lock>();
  const fresh = new Set<string>();
  const marker = liveMarker();
  const body = h('div', { 'data-testid': 'locks' });
  const problems = h('div');
  fill(root, h('h2', {}, 'Locks ', marker), problems, body);

  const render = (): void => {
    const rows = [...locks.values()].sort((a, b) => a.name.localeCompare(b.name));
    fill(
      body,
      table<Lock>(
        [
          ['Name', (l) => l.name],
          ['Holder', (l) => l.owner],
          ['Fencing token', (l) => h('code', {}, l.fencing_token)],
          ['Expires in', (l) => h('span', { class: 'countdown' }, countdown(l.expires_at))],
          ['Acquired', (l) => when(l.acquired_at)],
        ],
        rows,
        (l) => ({ 'data-lock': l.name, class: fresh.has(l.name) ? 'fresh' : undefined }),
      ),
    );
  };

  run(ctx, problems, async () => {
    // Subscribe first, then list: a change between the two still arrives.
    const stream = await ctx.client.locks.watch({}, { signal: ctx.signal });
    for await (const lock of ctx.client.locks.list({}, { signal: ctx.signal })) {
      locks.set(lock.name, lock);
    }
    render();
    setLive(marker, true);
    try {
      for await (const change of stream) {
        const lock = change.lock;
        if (lock === undefined) continue;
        if (change.type === 'ACQUIRED') {
          locks.set(lock.name, lock);
          fresh.add(lock.name);
        } else {
          locks.delete(lock.name);
        }
        render();
      }
    } finally {
      setLive(marker, false);
    }
  });
  every(ctx, 1000, () => {
    for (const cell of body.querySelectorAll<HTMLElement>('tr[data-lock]')) {
      const lock = locks.get(cell.dataset.lock ?? '');
      const countdownCell = cell.querySelector('.countdown');
      if (lock && countdownCell) countdownCell.textContent = countdown(lock.expires_at);
    }
  });
}
