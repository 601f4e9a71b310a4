/** The console's shell: sign-in, navigation, and the view of the current route. */

import type { Concord } from '@concord/sdk';
import { fill, h } from './dom.js';
import { errorBox } from './errors.js';
import { type Credential, clear, clientFor, load, save } from './session.js';
import type { View } from './view.js';
import { cacheView } from './views/cache.js';
import { eventsView } from './views/events.js';
import { locksView } from './views/locks.js';
import { rbacView } from './views/rbac.js';
import { sagasView } from './views/sagas.js';
import { servicesView } from './views/services.js';

const VIEWS: [string, string, View][] = [
  ['locks', 'Locks', locksView],
  ['sagas', 'Sagas', sagasView],
  ['events', 'Events', eventsView],
  ['cache', 'Cache', cacheView],
  ['services', 'Services', servicesView],
  ['rbac', 'Access', rbacView],
];

const app = document.getElementById('app') as HTMLElement;

function signIn(problem?: unknown): void {
  const kind = h(
    'select',
    { name: 'kind', 'data-testid': 'kind' },
    h('option', { value: 'apiKey' }, 'API key'),
    h('option', { value: 'token' }, 'Bearer token (JWT)'),
  );
  const secret = h('input', { type: 'password', name: 'secret', required: true, 'data-testid': 'secret', autocomplete: 'off' });
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const credential: Credential = { kind: kind.value === 'token' ? 'token' : 'apiKey', value: secret.value };
    try {
      const client = clientFor(credential);
      const me = await client.auth.whoami();
      save(credential);
      shell(client, me.subject);
    } catch (error) {
      signIn(error);
    }
  };
  fill(
    app,
    h(
      'form',
      { class: 'signin', onsubmit: (e: Event) => void submit(e) },
      h('h1', {}, 'Concord console'),
      h('p', {}, 'Sign in with an API key or a token. It stays in this tab only (session storage).'),
      h('label', {}, 'Credential ', kind),
      h('label', {}, 'Secret ', secret),
      h('button', { type: 'submit', 'data-testid': 'signin' }, 'Sign in'),
      problem === undefined ? null : errorBox(problem),
    ),
  );
}

function shell(client: Concord, subject: string): void {
  const main = h('main', { id: 'view' });
  const nav = h(
    'nav',
    {},
    ...VIEWS.map(([route, label]) => h('a', { href: `#/${route}`, 'data-route': route }, label)),
  );
  const out = (): void => {
    clear();
    window.location.hash = '';
    signIn();
  };
  fill(
    app,
    h(
      'header',
      {},
      h('strong', { class: 'brand' }, 'Concord'),
      nav,
      h('span', { class: 'who', 'data-testid': 'subject' }, subject),
      h('button', { onclick: out, 'data-testid': 'signout' }, 'Sign out'),
    ),
    main,
  );
  let current: AbortController | undefined;
  const route = (): void => {
    current?.abort();
    current = new AbortController();
    const [name = 'locks', ...params] = window.location.hash.replace(/^#\/?/, '').split('?')[0]?.split('/') ?? [];
    const found = VIEWS.find(([route]) => route === name) ?? VIEWS[0];
    if (found === undefined) return;
    for (const link of nav.querySelectorAll<HTMLElement>('a')) {
      link.classList.toggle('active', link.dataset.route === found[0]);
    }
    main.replaceChildren();
    found[2](main, { client, signal: current.signal, params });
  };
  window.onhashchange = route;
  route();
}

async function start(): Promise<void> {
  const credential = load();
  if (credential === null) {
    signIn();
    return;
  }
  const client = clientFor(credential);
  try {
    shell(client, (await client.auth.whoami()).subject);
  } catch (error) {
    clear();
    signIn(error);
  }
}

void start();
