/** A tiny DOM builder and the formatting every view shares. */

export type Child = Node | string | number | null | undefined | false;
type Handler = (event: Event) => void;
export type Attrs = Record<string, string | number | boolean | Handler | undefined>;

/** An element with attributes (`onclick`-style keys add listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') {
      el.addEventListener(key.replace(/^on/, ''), value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children, skipping empty ones. */
export function append(el: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A table with a header row and one row per item. */
export function table<T>(
  columns: [string, (item: T) => Child][],
  items: T[],
  rowAttrs: (item: T) => Attrs = () => ({}),
): HTMLTableElement {
  const head = h('tr', {}, ...columns.map(([label]) => h('th', {}, label)));
  const rows = items.map((item) =>
    h('tr', rowAttrs(item), ...columns.map(([, cell]) => h('td', {}, cell(item)))),
  );
  const body = h('tbody', {}, ...rows);
  if (items.length === 0) {
    body.append(h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, 'none')));
  }
  return h('table', {}, h('thead', {}, head), body);
}

/** A coloured badge for an enum value (state, health, event type). */
export function badge(value: string | undefined): HTMLElement {
  const name = value ?? '-';
  return h('span', { class: `badge badge-${name.toLowerCase()}` }, name);
}

/** A timestamp as local date and time to the second. */
export function when(ts: string | undefined): string {
  if (!ts) return '-';
  const date = new Date(ts);
  return Number.isNaN(date.getTime()) ? ts : date.toLocaleString();
}

/** Seconds left until a timestamp: '12s', '3m04s', 'expired'. */
export function countdown(ts: string | undefined, now = Date.now()): string {
  if (!ts) return '-';
  const left = Math.floor((new Date(ts).getTime() - now) / 1000);
  if (left <= 0) return 'expired';
  if (left < 60) return `${left}s`;
  if (left < 3600) return `${Math.floor(left / 60)}m${String(left % 60).padStart(2, '0')}s`;
  return `${Math.floor(left / 3600)}h${String(Math.floor((left % 3600) / 60)).padStart(2, '0')}m`;
}

/** A JSON value, pretty-printed. */
export function json(value: unknown): string {
  return value === undefined ? '-' : JSON.stringify(value, null, 2);
}

/** A JSON value on one line, shortened. */
export function brief(value: unknown, limit = 80): string {
  const text = value === undefined ? '' : JSON.stringify(value);
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}
