/** Event streams: browse a stream or the global log, tail it live, read one event. */

import type { RecordedEvent } from '@concord/sdk';
import { fill, h, json, table, when } from '../dom.js';
import { liveMarker, run, setLive, type ViewContext } from '../view.js';

const BROWSE_COUNT = 50;

export function eventsView(root: HTMLElement, ctx: ViewContext): void {
  const stream = h('input', {
    placeholder: 'stream (empty: every stream)',
    'data-testid': 'stream',
    value: ctx.params[0] ? decodeURIComponent(ctx.params[0]) : '',
  });
  const marker = liveMarker();
  const list = h('div', { 'data-testid': 'events' });
  const detail = h('pre', { class: 'detail', 'data-testid': 'event-detail' });
  const problems = h('div');
  const shown: RecordedEvent[] = [];
  let tail: AbortController | undefined;

  const render = (): void =>
    fill(
      list,
      table<RecordedEvent>(
        [
          ['Event', (e) => `${e.stream}@${e.revision}`],
          ['Position', (e) => e.position],
          ['Type', (e) => e.type],
          ['Recorded', (e) => when(e.recorded_at)],
        ],
        shown,
        (e) => ({
          'data-event': `${e.stream}@${e.revision}`,
          class: 'clickable',
          onclick: () => {
            detail.textContent = json(e);
          },
        }),
      ),
    );

  const stop = (): void => {
    tail?.abort();
    tail = undefined;
    setLive(marker, false);
  };
  const browse = (): void => {
    stop();
    run(ctx, problems, async () => {
      problems.replaceChildren();
      const name = stream.value.trim();
      const options = { signal: ctx.signal };
      const pager = name
        ? ctx.client.events.read(name, { direction: 'BACKWARD', page_size: BROWSE_COUNT }, options)
        : ctx.client.events.readAll({ direction: 'BACKWARD', page_size: BROWSE_COUNT }, options);
      shown.splice(0, shown.length, ...(await pager).items);
      render();
    });
  };
  const follow = (): void => {
    stop();
    const controller = new AbortController();
    tail = controller;
    ctx.signal.addEventListener('abort', () => controller.abort());
    run(ctx, problems, async () => {
      problems.replaceChildren();
      const name = stream.value.trim();
      const options = { signal: controller.signal };
      const live = name
        ? await ctx.client.events.subscribe(name, {}, options)
        : await ctx.client.events.subscribeAll({}, options);
      setLive(marker, true);
      try {
        for await (const message of live) {
          if (message.event === undefined) continue;
          shown.unshift(message.event);
          render();
        }
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      } finally {
        if (tail === controller) setLive(marker, false);
      }
    });
  };

  fill(
    root,
    h('h2', {}, 'Event streams ', marker),
    h(
      'form',
      { class: 'bar', onsubmit: (e: Event) => (e.preventDefault(), browse()) },
      stream,
      h('button', { type: 'submit', 'data-testid': 'browse' }, 'Browse'),
      h('button', { type: 'button', 'data-testid': 'tail', onclick: follow }, 'Tail live'),
      h('button', { type: 'button', onclick: stop }, 'Stop'),
    ),
    problems,
    h('div', { class: 'split' }, list, detail),
  );
  render();
  browse();
}
