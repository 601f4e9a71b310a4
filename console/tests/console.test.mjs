// The console in a real browser (Debian's Chromium, driven by playwright-core) against a live
// server: sign-in, live locks, a saga's steps, a live event tail, services, cache, access.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WAIT, shot, signedIn, start, unique } from './harness.mjs';

let env;
before(async () => {
  env = await start();
});
after(async () => {
  await env?.stop();
});

test('a wrong key shows the catalogue code and request id; the right one signs in', async () => {
  const page = await env.browser.newPage();
  page.setDefaultTimeout(WAIT);
  await page.goto(`${env.baseURL}/console`);
  await page.fill('[data-testid=secret]', 'not-a-key');
  await page.click('[data-testid=signin]');
  assert.equal(await page.textContent('[data-testid=error-code]'), 'UNAUTHENTICATED');
  assert.match(await page.textContent('[data-testid=request-id]'), /^req_/);
  await shot(page, 'signin-error');

  await page.fill('[data-testid=secret]', env.key);
  await page.click('[data-testid=signin]');
  assert.equal(await page.textContent('[data-testid=subject]'), 'bootstrap-admin');
  const stored = await page.evaluate(() => sessionStorage.getItem('concord.console.credential'));
  assert.equal(JSON.parse(stored).value, env.key);
  await page.reload();
  await page.waitForSelector('[data-testid=subject]'); // still signed in within the tab
  await page.click('[data-testid=signout]');
  await page.waitForSelector('[data-testid=signin]');
  await page.close();
});

test('a lock acquired through the API appears live with its token, and goes on release', async () => {
  const page = await signedIn(env, 'locks');
  await page.waitForSelector('[data-testid=live][data-live=on]');
  const name = unique('console-lock');
  const { lock } = await env.client.locks.acquire(name, { owner: 'worker-7', ttl: '120s' });
  const row = page.locator(`tr[data-lock="${name}"]`);
  await row.waitFor();
  const text = await row.textContent();
  assert.ok(text.includes('worker-7'), text);
  assert.ok(text.includes(String(lock.fencing_token)), text);
  assert.match(await row.locator('.countdown').textContent(), /^\d+(s|m\d\ds)$/);
  await shot(page, 'locks-live');
  await env.client.locks.release(name, { owner: 'worker-7', fencing_token: lock.fencing_token });
  await row.waitFor({ state: 'detached' });
  await page.close();
});

function sagaDefinition(kind) {
  return {
    name: 'checkout',
    steps: [
      {
        name: 'reserve',
        action: { task: { task_type: `${kind}.reserve` } },
        compensation: { task: { task_type: `${kind}.unreserve` } },
      },
      { name: 'charge', action: { task: { task_type: `${kind}.charge` } } },
    ],
  };
}

async function work(kind, sagaId) {
  const types = [`${kind}.reserve`, `${kind}.unreserve`, `${kind}.charge`];
  for (;;) {
    const { saga } = await env.client.sagas.get(sagaId);
    if (['COMPLETED', 'COMPENSATED', 'FAILED'].includes(saga.state)) return;
    const { tasks } = await env.client.sagas.pollTasks({
      worker_id: 'console-test',
      task_types: types,
      wait_timeout: '2s',
    });
    for (const task of tasks) {
      await env.client.sagas.completeTask(task.task_id, { worker_id: 'console-test', output: { ok: task.task_type } });
    }
  }
}

test('a saga run through the API shows its steps moving to completion', async () => {
  const kind = unique('console-saga');
  const sagaId = `${kind}-1`;
  await env.client.sagas.start({ saga_id: sagaId, definition: sagaDefinition(kind), input: { order: 7 } });
  const page = await signedIn(env, `sagas/${sagaId}`);
  await page.waitForSelector('tr[data-step="reserve"]');
  await work(kind, sagaId);
  await page.waitForSelector('tr[data-step="charge"][data-state="SUCCEEDED"]');
  await page.waitForFunction(() => document.querySelector('[data-testid=saga-state-value]')?.textContent === 'COMPLETED');
  const timeline = await page.textContent('[data-testid=timeline]');
  assert.ok(timeline.includes('reserve') && timeline.includes('charge'), timeline);
  await shot(page, 'saga-completed');

  await page.goto(`${env.baseURL}/console/#/sagas?state=COMPLETED`);
  await page.waitForSelector(`tr[data-saga="${sagaId}"]`);
  await shot(page, 'sagas-list');
  await page.close();
});

test('cancelling a running saga from the console compensates its completed step', async () => {
  const kind = unique('console-cancel');
  const sagaId = `${kind}-1`;
  await env.client.sagas.start({ saga_id: sagaId, definition: sagaDefinition(kind) });
  // The first step completes; the second waits for a worker that never comes.
  for (let done = false; !done; ) {
    const { tasks } = await env.client.sagas.pollTasks({
      worker_id: 'console-test',
      task_types: [`${kind}.reserve`],
      wait_timeout: '5s',
    });
    for (const task of tasks) {
      await env.client.sagas.completeTask(task.task_id, { worker_id: 'console-test', output: { held: 1 } });
      done = true;
    }
  }
  const page = await signedIn(env, `sagas/${sagaId}`);
  await page.waitForSelector('tr[data-step="reserve"][data-state="SUCCEEDED"]');
  await page.click('[data-testid=cancel]');
  await work(kind, sagaId); // runs the reserve step's compensation
  await page.waitForFunction(() => document.querySelector('[data-testid=saga-state-value]')?.textContent === 'COMPENSATED');
  await page.waitForSelector('tr[data-step="reserve"][data-state="COMPENSATED"]');
  await page.waitForSelector('[data-testid=timeline] li.phase-compensation');
  await shot(page, 'saga-cancelled');
  await page.close();
});

test('tailing a stream shows appended events live; an event opens in detail', async () => {
  const stream = unique('console-stream');
  await env.client.events.append(stream, { events: [{ event_id: crypto.randomUUID(), type: 'opened', data: { n: 0 } }] });
  const page = await signedIn(env, `events/${stream}`);
  await page.waitForSelector(`tr[data-event="${stream}@0"]`); // browsed on open
  await page.click('[data-testid=tail]');
  await page.waitForSelector('[data-testid=live][data-live=on]');
  for (const n of [1, 2]) {
    await env.client.events.append(stream, { events: [{ event_id: crypto.randomUUID(), type: 'paid', data: { n } }] });
  }
  await page.waitForSelector(`tr[data-event="${stream}@2"]`);
  await page.click(`tr[data-event="${stream}@2"]`);
  const detail = JSON.parse(await page.textContent('[data-testid=event-detail]'));
  assert.deepEqual(detail.data, { n: 2 });
  assert.equal(detail.type, 'paid');
  await shot(page, 'events-tail');
  await page.close();
});

test('services by health, cache changes live, and access lists', async () => {
  const service = unique('console-svc');
  await env.client.discovery.register(service, 'a', { address: '10.0.0.1', port: 80, ttl: '120s' });
  await env.client.discovery.register(service, 'b', { address: '10.0.0.2', port: 80, ttl: '120s', status: 'UNHEALTHY' });
  const page = await signedIn(env, 'services');
  const summary = page.locator(`tr[data-service="${service}"]`);
  await summary.waitFor();
  assert.match(await summary.textContent(), /21DEGRADED/);
  await page.goto(`${env.baseURL}/console/#/services/${service}`);
  await page.waitForSelector('tr[data-instance="b"] .badge-unhealthy');
  await shot(page, 'services');

  const namespace = unique('console-ns');
  await page.goto(`${env.baseURL}/console/#/cache`);
  await page.fill('[data-testid=namespace]', namespace);
  await page.click('[data-testid=open]');
  await page.waitForSelector('[data-testid=live][data-live=on]');
  await env.client.cache.set(namespace, 'greeting', { value: { hello: 'world' } });
  await page.waitForSelector('[data-testid=changes] .badge-set');
  await page.fill('[data-testid=key]', 'greeting');
  await page.click('[data-testid=get]');
  await page.waitForFunction(() => document.querySelector('[data-testid=entry]')?.textContent.includes('"hello": "world"'));
  await shot(page, 'cache');

  await page.goto(`${env.baseURL}/console/#/rbac`);
  await page.waitForSelector('[data-testid=roles] table');
  await page.waitForSelector('[data-testid=keys] table');
  await shot(page, 'access');
  await page.close();
});
