/**
 * The helpers' failure paths on a scripted server (docs/sdk-helpers.md §1-2): renewals that fail
 * for a while or for good, leases bounded by concurrency, lost leases, hand-backs.
 */

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import {
  Concord,
  LockLostError,
  type SagaWorker,
  UnauthenticatedError,
  UnavailableError,
} from '@concord/sdk';
import { hanging, json, problem, type Seen } from './fake.js';

type Route = (seen: Seen) => Response | Promise<Response>;

/** A client whose fetch answers by `METHOD path`-prefix routes, recording every request. */
function routed(routes: Record<string, Route>): { client: Concord; seen: Seen[] } {
  const seen: Seen[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const request: Seen = {
      method: init?.method ?? 'GET',
      url: new URL(String(input)),
      headers: new Headers(init?.headers),
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
      signal: init?.signal ?? undefined,
    };
    seen.push(request);
    const key = `${request.method} ${request.url.pathname}`;
    const route = Object.entries(routes).find(([prefix]) => key.startsWith(prefix))?.[1];
    if (route === undefined) {
      throw new Error(`no route for ${key}`);
    }
    return route(request);
  };
  const client = new Concord({
    baseURL: 'http://concord.test',
    apiKey: 'k',
    fetch: fetch as typeof globalThis.fetch,
    retryBackoff: { initialMs: 1, maxMs: 2 },
  });
  return { client, seen };
}

const grant = { lock: { name: 'l', owner: 'o', fencing_token: 7 } };
const renewals = (seen: Seen[]) => seen.filter((s) => s.url.pathname.endsWith(':renew'));

describe('lock hold (scripted)', () => {
  it('retries a transiently failing renewal and keeps the hold', async () => {
    let calls = 0;
    const { client, seen } = routed({
      'POST /v1/locks/l:acquire': () => json(200, grant),
      'POST /v1/locks/l:renew': () =>
        ++calls <= 2 ? problem(503, 'UNAVAILABLE') : json(200, grant),
      'POST /v1/locks/l:release': () => json(200, grant),
    });
    const lock = await client.locks.hold('l', { ttlMs: 1_500 });
    while (calls < 3) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(lock.lost, false);
    await lock.release();
    const keys = renewals(seen).map((s) => s.headers.get('idempotency-key'));
    assert.equal(new Set(keys).size, keys.length, 'each renewal attempt has its own key');
  });

  it('declares the hold lost at the deadline when renewals keep failing', async () => {
    const { client } = routed({
      'POST /v1/locks/l:acquire': () => json(200, grant),
      'POST /v1/locks/l:renew': () => problem(503, 'UNAVAILABLE'),
      'POST /v1/locks/l:release': () => problem(409, 'LOCK_EXPIRED'),
    });
    const lock = await client.locks.hold('l', { ttlMs: 600 });
    await once(lock.signal, 'abort');
    const reason = lock.signal.reason as LockLostError;
    assert.ok(reason instanceof LockLostError);
    assert.ok(reason.cause instanceof UnavailableError);
    await assert.rejects(lock[Symbol.asyncDispose](), LockLostError);
  });

  it('names the last answered failure as the cause when a renewal is cut by the deadline', async () => {
    let calls = 0;
    const { client } = routed({
      'POST /v1/locks/l:acquire': () => json(200, grant),
      'POST /v1/locks/l:renew': (request) =>
        ++calls === 1 ? problem(503, 'UNAVAILABLE') : hanging(request),
      'POST /v1/locks/l:release': () => problem(409, 'LOCK_EXPIRED'),
    });
    const lock = await client.locks.hold('l', { ttlMs: 600 });
    await once(lock.signal, 'abort');
    assert.ok(calls >= 2, 'a renewal was in flight at the deadline');
    const reason = lock.signal.reason as LockLostError;
    assert.ok(reason.cause instanceof UnavailableError, String(reason.cause));
    await assert.rejects(lock[Symbol.asyncDispose](), LockLostError);
  });

  it('loses the hold at once on a final renewal error and does not release it', async () => {
    const { client, seen } = routed({
      'POST /v1/locks/l:acquire': () => json(200, grant),
      'POST /v1/locks/l:renew': () => problem(409, 'LOCK_NOT_HELD'),
    });
    const lock = await client.locks.hold('l', { ttlMs: 600 });
    await once(lock.signal, 'abort');
    await assert.rejects(lock[Symbol.asyncDispose](), LockLostError);
    assert.equal(seen.filter((s) => s.url.pathname.endsWith(':release')).length, 0);
  });

  it('confirms a grant that arrived late with a renewal before returning', async () => {
    const { client, seen } = routed({
      'POST /v1/locks/l:acquire': async () => {
        await new Promise((resolve) => setTimeout(resolve, 400));
        return json(200, grant);
      },
      'POST /v1/locks/l:renew': () => json(200, grant),
      'POST /v1/locks/l:release': () => json(200, grant),
    });
    const lock = await client.locks.hold('l', { ttlMs: 900, waitTimeoutMs: 5_000 });
    assert.equal(renewals(seen).length, 1);
    assert.deepEqual(seen[0]?.body, { owner: lock.owner, ttl: '0.900s', wait_timeout: '5s' });
    await lock.release();
  });

  it("lets a block's own error through, with a loss attached as await using does", async () => {
    const { client } = routed({
      'POST /v1/locks/l:acquire': () => json(200, grant),
      'POST /v1/locks/l:renew': () => problem(409, 'LOCK_NOT_HELD'),
    });
    const failure = new TypeError('the block failed');
    const lostScope = async (): Promise<void> => {
      await using lock = await client.locks.hold('l', { ttlMs: 600 });
      await once(lock.signal, 'abort');
      throw failure;
    };
    const released = routed({
      'POST /v1/locks/l:acquire': () => json(200, grant),
      'POST /v1/locks/l:release': () => json(200, grant),
    });
    await assert.rejects(
      (async () => {
        await using _lock = await released.client.locks.hold('l', { autoRenew: false });
        throw failure;
      })(),
      (error) => error === failure,
    );
    await assert.rejects(lostScope(), (error: { error?: unknown; suppressed?: unknown }) => {
      assert.ok(error.error instanceof LockLostError, 'the loss, from the scope exit');
      assert.equal(error.suppressed, failure, "the block's error, unchanged");
      return true;
    });
  });

  it('treats a transient release failure at scope exit as no error of the scope', async () => {
    const { client } = routed({
      'POST /v1/locks/l:acquire': () => json(200, grant),
      'POST /v1/locks/l:release': () => problem(503, 'UNAVAILABLE'),
    });
    const lock = await client.locks.hold('l', { ttlMs: 60_000, autoRenew: false });
    await lock[Symbol.asyncDispose](); // a transient release failure is not the scope's error
    await assert.rejects(client.locks.hold('l', { ttlMs: 0 }), RangeError);
  });
});

const task = (id: string) => ({
  task_id: id,
  saga_id: 's',
  step_name: 'x',
  phase: 'ACTION',
  task_type: 't',
  attempt: 1,
  worker_id: 'w',
  metadata: {},
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A worker with `waitTimeoutMs: 0` on a server whose every poll answers no task at once. */
function idleWorker(): { worker: SagaWorker; polls: () => number } {
  let polls = 0;
  const { client } = routed({
    'POST /v1/tasks:poll': async () => {
      polls += 1;
      await sleep(1); // answered on a later turn of the event loop, as over a network
      return json(200, { tasks: [] });
    },
  });
  const worker = client.sagas.worker({ taskTypes: ['t'], waitTimeoutMs: 0, handler: () => {} });
  return { worker, polls: () => polls };
}

describe('saga worker (scripted)', () => {
  it('starts empty polls at most once a second', async () => {
    const { worker, polls } = idleWorker();
    const stop = new AbortController();
    const run = worker.run(stop.signal);
    await sleep(2_000);
    stop.abort();
    await run;
    assert.ok(polls() >= 1 && polls() <= 4, `${polls()} polls in 2 s`);
  });

  it('ends the pause after an empty poll at once when the signal aborts', async () => {
    const { worker, polls } = idleWorker();
    const stop = new AbortController();
    const run = worker.run(stop.signal);
    while (polls() < 1) {
      await sleep(5);
    }
    await sleep(200); // the worker pauses until a second after its first poll
    const early = polls();
    const stopped = performance.now();
    stop.abort();
    await run;
    const took = performance.now() - stopped;
    assert.ok(early <= 2, `${early} polls within 200 ms of the first: no pause`);
    assert.ok(took < 800, `run resolved ${took} ms after the abort: the pause went on`);
  });

  it('leases no more tasks than it runs, and heartbeats each', async () => {
    const polls: number[] = [];
    let served = 0;
    const stop = new AbortController();
    const { client, seen } = routed({
      'POST /v1/tasks:poll': (request) => {
        const body = request.body as { max_tasks: number };
        polls.push(body.max_tasks);
        served += 1;
        const tasks = served === 1 ? [task('a'), task('b')] : [];
        if (served > 3) {
          stop.abort();
        }
        return json(200, { tasks });
      },
      'POST /v1/tasks/': (request) =>
        request.url.pathname.endsWith(':heartbeat')
          ? json(200, { task: task('a') })
          : json(200, {}),
    });
    const worker = client.sagas.worker({
      taskTypes: ['t'],
      concurrency: 2,
      visibilityTimeoutMs: 300,
      handler: async () => {
        await new Promise((resolve) => setTimeout(resolve, 450));
        return { ok: true };
      },
    });
    await worker.run(stop.signal);
    assert.equal(polls[0], 2);
    const beats = seen
      .filter((s) => s.url.pathname.endsWith(':heartbeat'))
      .map((s) => s.url.pathname);
    assert.ok(beats.includes('/v1/tasks/a:heartbeat') && beats.includes('/v1/tasks/b:heartbeat'));
    const completes = seen.filter((s) => s.url.pathname.endsWith(':complete'));
    assert.deepEqual(
      completes.map((s) => s.body),
      [
        { worker_id: worker.workerId, output: { ok: true } },
        { worker_id: worker.workerId, output: { ok: true } },
      ],
    );
    const pollTimes = seen.findIndex((s, i) => i > 0 && s.url.pathname === '/v1/tasks:poll');
    assert.ok(
      pollTimes > seen.findIndex((s) => s.url.pathname.endsWith(':complete')),
      'no poll while full',
    );
  });

  it('cancels the handler of a lost lease and reports nothing for it', async () => {
    const stop = new AbortController();
    let polls = 0;
    const { client, seen } = routed({
      'POST /v1/tasks:poll': () => json(200, { tasks: ++polls === 1 ? [task('a')] : [] }),
      'POST /v1/tasks/a:heartbeat': () => problem(409, 'TASK_LEASE_LOST'),
    });
    let aborted = false;
    const worker = client.sagas.worker({
      taskTypes: ['t'],
      visibilityTimeoutMs: 150,
      handler: async (_task, { signal }) => {
        await once(signal, 'abort');
        aborted = true;
        stop.abort();
        return 'ignored';
      },
    });
    await worker.run(stop.signal);
    assert.ok(aborted);
    assert.equal(seen.filter((s) => /:(complete|fail)$/.test(s.url.pathname)).length, 0);
  });

  it('fails a task with the error type and message, retryable unless marked', async () => {
    const stop = new AbortController();
    let polls = 0;
    const { client, seen } = routed({
      'POST /v1/tasks:poll': () => json(200, { tasks: ++polls === 1 ? [task('a')] : [] }),
      'POST /v1/tasks/a:fail': () => {
        stop.abort();
        return json(200, {});
      },
    });
    const worker = client.sagas.worker({
      taskTypes: ['t'],
      handler: () => {
        throw new TypeError('bad input');
      },
    });
    await worker.run(stop.signal);
    const failure = seen.find((s) => s.url.pathname.endsWith(':fail'));
    assert.deepEqual(failure?.body, {
      worker_id: worker.workerId,
      error_message: 'TypeError: bad input',
      non_retryable: false,
    });
  });

  it('lets a heartbeat in flight finish, then hands the task back at the end of the grace', async () => {
    const stop = new AbortController();
    let polls = 0;
    const log: string[] = [];
    const { client, seen } = routed({
      'POST /v1/tasks:poll': (request) =>
        ++polls === 1 ? json(200, { tasks: [task('a')] }) : hanging(request),
      'POST /v1/tasks/a:heartbeat': async (request) => {
        const body = request.body as { visibility_timeout: string };
        if (body.visibility_timeout === '0.001s') {
          log.push('hand-back');
          return json(200, { task: task('a') });
        }
        stop.abort(); // shut down while this heartbeat is in flight (its timeout is 1 s)
        await sleep(300);
        log.push(request.signal?.aborted ? 'beat aborted' : 'beat answered');
        return json(200, { task: task('a') });
      },
    });
    let finish = (): void => {};
    const worker = client.sagas.worker({
      taskTypes: ['t'],
      visibilityTimeoutMs: 3_000,
      shutdownGraceMs: 20,
      handler: async () => {
        await new Promise<void>((resolve) => {
          finish = resolve; // a handler that ignores its signal
        });
        return 'too late';
      },
    });
    await worker.run(stop.signal);
    finish();
    assert.deepEqual(log, ['beat answered', 'hand-back']);
    assert.equal(seen.filter((s) => /:(complete|fail)$/.test(s.url.pathname)).length, 0);
  });

  it('stops on an UNAUTHENTICATED heartbeat, letting the running handler finish', async () => {
    let polls = 0;
    const { client, seen } = routed({
      'POST /v1/tasks:poll': (request) =>
        ++polls === 1 ? json(200, { tasks: [task('a')] }) : hanging(request),
      'POST /v1/tasks/a:heartbeat': () => problem(401, 'UNAUTHENTICATED'),
      'POST /v1/tasks/a:complete': () => json(200, {}),
    });
    let heartbeatSeen = false;
    const worker = client.sagas.worker({
      taskTypes: ['t'],
      visibilityTimeoutMs: 150,
      handler: async () => {
        while (!heartbeatSeen) {
          heartbeatSeen = seen.some((s) => s.url.pathname.endsWith(':heartbeat'));
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return { done: true };
      },
    });
    await assert.rejects(worker.run(), UnauthenticatedError);
    assert.equal(polls, 1, 'no poll after the stop');
    const complete = seen.find((s) => s.url.pathname.endsWith(':complete'));
    assert.deepEqual(complete?.body, { worker_id: worker.workerId, output: { done: true } });
  });
});
