/** What a view gets: the client, a signal that aborts when the view is left, its route. */

import type { Concord } from '@concord/sdk';
import { errorBox, isAbort } from './errors.js';
import { h } from './dom.js';

export interface ViewContext {
  client: Concord;
  /** Aborted when the user leaves the view: streams close, timers stop. */
  signal: AbortSignal;
  /** The route's parts after the view name, e.g. a saga id. */
  params: string[];
}

export type View = (root: HTMLElement, ctx: ViewContext) => void;

/** Runs `fn` every `ms` until the view is left. */
export function every(ctx: ViewContext, ms: number, fn: () => void): void {
  const timer = window.setInterval(fn, ms);
  ctx.signal.addEventListener('abort', () => window.clearInterval(timer));
}

/** Runs an async task of a view; its error (unless the view was left) shows in `where`. */
export function run(ctx: ViewContext, where: HTMLElement, task: () => Promise<void>): void {
  task().catch((error: unknown) => {
    if (!ctx.signal.aborted && !isAbort(error)) where.replaceChildren(errorBox(error));
  });
}

/** A 'live' marker: on once a stream is subscribed, off when it ends. */
export function liveMarker(): HTMLElement {
  return h('span', { class: 'live', 'data-testid': 'live', 'data-live': 'off' }, 'live');
}

/** Switches a live marker. */
export function setLive(marker: HTMLElement, on: boolean): void {
  marker.dataset.live = on ? 'on' : 'off';
}
