/** Sagas: a list by state, and a saga's step timeline with compensation and cancel. */

import type { Saga, SagaState, StepEvent } from '@concord/sdk';
import { badge, brief, fill, h, table, when } from '../dom.js';
import { errorBox } from '../errors.js';
import { every, run, type ViewContext } from '../view.js';

const STATES = ['RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'FAILED'] as const;
const FINAL = new Set<string>(['COMPLETED', 'COMPENSATED', 'FAILED']);

function done(saga: Saga): string {
  return `${saga.steps.filter((s) => s.state === 'SUCCEEDED').length}/${saga.steps.length}`;
}

export function sagasView(root: HTMLElement, ctx: ViewContext): void {
  const id = ctx.params[0];
  if (id !== undefined) {
    sagaDetail(root, ctx, decodeURIComponent(id));
    return;
  }
  const wanted = new URLSearchParams(window.location.hash.split('?')[1] ?? '').get('state') ?? '';
  const filter = h(
    'select',
    {
      'data-testid': 'saga-state',
      onchange: (e: Event) => {
        const value = (e.target as HTMLSelectElement).value;
        window.location.hash = value ? `#/sagas?state=${value}` : '#/sagas';
      },
    },
    h('option', { value: '' }, 'all states'),
    ...STATES.map((s) => h('option', { value: s, selected: s === wanted }, s)),
  );
  const body = h('div', { 'data-testid': 'sagas' });
  fill(root, h('h2', {}, 'Sagas'), h('p', {}, filter), body);
  const load = (): void =>
    run(ctx, body, async () => {
      const sagas: Saga[] = [];
      const params = wanted ? { state: wanted as SagaState, page_size: 50 } : { page_size: 50 };
      const page = await ctx.client.sagas.list(params, { signal: ctx.signal });
      sagas.push(...page.items);
      fill(
        body,
        table<Saga>(
          [
            ['Saga', (s) => h('a', { href: `#/sagas/${encodeURIComponent(s.saga_id)}` }, s.saga_id)],
            ['Kind', (s) => s.definition?.name ?? '-'],
            ['State', (s) => badge(s.state)],
            ['Steps done', done],
            ['Updated', (s) => when(s.updated_at)],
            ['Error', (s) => s.error],
          ],
          sagas,
          (s) => ({ 'data-saga': s.saga_id }),
        ),
      );
    });
  load();
  every(ctx, 2000, load);
}

function timeline(saga: Saga): HTMLElement {
  const events: [StepEvent, string][] = saga.steps.flatMap((step) =>
    step.history.map((event): [StepEvent, string] => [event, step.name]),
  );
  events.sort((a, b) => (a[0].at ?? '').localeCompare(b[0].at ?? ''));
  return h(
    'ol',
    { class: 'timeline', 'data-testid': 'timeline' },
    ...events.map(([event, step]) =>
      h(
        'li',
        { class: `phase-${event.phase.toLowerCase()}` },
        h('time', {}, when(event.at)),
        ' ',
        h('strong', {}, step),
        ` ${event.phase.toLowerCase()} `,
        badge(event.type),
        ` attempt ${event.attempt}`,
        event.message ? ` — ${event.message}` : '',
      ),
    ),
  );
}

function sagaDetail(root: HTMLElement, ctx: ViewContext, id: string): void {
  const body = h('div', { 'data-testid': 'saga' });
  const problems = h('div');
  fill(root, h('h2', {}, h('a', { href: '#/sagas' }, 'Sagas'), ` / ${id}`), problems, body);
  let final = false;
  const cancel = (): void =>
    run(ctx, problems, async () => {
      problems.replaceChildren();
      await ctx.client.sagas.cancel(id, { reason: 'cancelled from the console' });
      load();
    });
  const render = (saga: Saga): void => {
    fill(
      body,
      h(
        'dl',
        {},
        h('dt', {}, 'State'),
        h('dd', { 'data-testid': 'saga-state-value' }, badge(saga.state)),
        h('dt', {}, 'Kind'),
        h('dd', {}, saga.definition?.name ?? '-'),
        h('dt', {}, 'Input'),
        h('dd', {}, h('code', {}, brief(saga.input, 200))),
        h('dt', {}, 'Updated'),
        h('dd', {}, when(saga.updated_at)),
        saga.error ? h('dt', {}, 'Error') : null,
        saga.error ? h('dd', { class: 'error-text' }, saga.error) : null,
      ),
      FINAL.has(saga.state) || saga.cancel_requested
        ? null
        : h('button', { 'data-testid': 'cancel', onclick: cancel }, 'Cancel saga'),
      h('h3', {}, 'Steps'),
      table(
        [
          ['Step', (s) => s.name],
          ['State', (s) => badge(s.state)],
          ['Attempts', (s) => s.attempts],
          ['Compensation attempts', (s) => s.compensation_attempts],
          ['Output', (s) => h('code', {}, brief(s.output))],
          ['Error', (s) => s.error],
        ],
        saga.steps,
        (s) => ({ 'data-step': s.name, 'data-state': s.state }),
      ),
      h('h3', {}, 'Timeline'),
      timeline(saga),
    );
  };
  const load = (): void =>
    run(ctx, problems, async () => {
      const saga = (await ctx.client.sagas.get(id, { signal: ctx.signal })).saga;
      if (saga === undefined) {
        problems.replaceChildren(errorBox(`saga ${id} not found`));
        return;
      }
      final = FINAL.has(saga.state);
      render(saga);
    });
  load();
  every(ctx, 1000, () => {
    if (!final) load();
  });
}
