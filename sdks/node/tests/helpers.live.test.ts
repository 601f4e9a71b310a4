/**
 * The hand-written helpers against the live server (docs/sdk-helpers.md §1-2): lock holds and
 * the saga worker. Skipped, and saying so, without CONCORD_TEST_BASE_URL / CONCORD_TEST_API_KEY.
 */

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import {
  Concord,
  LockConflictError,
  LockLostError,
  NonRetryableTaskError,
  NotFoundError,
  type Saga,
  type SagaState,
} from '@concord/sdk';

const baseURL = process.env.CONCORD_TEST_BASE_URL;
const apiKey = process.env.CONCORD_TEST_API_KEY;
const skip = baseURL && apiKey ? false : 'CONCORD_TEST_BASE_URL / CONCORD_TEST_API_KEY not set';
const run = `th${randomUUID().slice(0, 8)}`;
const client = new Concord({ baseURL, apiKey, retryBackoff: { initialMs: 10, maxMs: 50 } });

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls GetSaga until its state is one of `states` (bounded), and returns it. */
async function sagaIn(sagaId: string, states: SagaState[]): Promise<Saga> {
  for (let i = 0; i < 300; i++) {
    const { saga } = await client.sagas.get(sagaId);
    if (saga !== undefined && states.includes(saga.state)) {
      return saga;
    }
    await pause(100);
  }
  throw new Error(`saga ${sagaId} never reached ${states.join('/')}`);
}

/** Starts a one-step saga whose action is a worker task of type `taskType`. */
async function startSaga(sagaId: string, taskType: string, maxAttempts = 3): Promise<void> {
  await client.sagas.start({
    saga_id: sagaId,
    input: { order: 7 },
    definition: {
      name: 'one-step',
      steps: [
        {
          name: 'work',
          action: { task: { task_type: taskType } },
          retry: { max_attempts: maxAttempts, initial_backoff: '0.1s', max_backoff: '0.2s' },
        },
      ],
    },
  });
}

describe('lock holds (live)', { skip }, () => {
  it('holds inside the block and releases at its end', async () => {
    const name = `${run}-scope`;
    {
      await using lock = await client.locks.hold(name, { ttlMs: 5_000 });
      assert.ok(lock.fencingToken > 0);
      const { lock: current } = await client.locks.get(name);
      assert.equal(current?.owner, lock.owner);
      await assert.rejects(client.locks.hold(name), LockConflictError);
    }
    await assert.rejects(client.locks.get(name), NotFoundError);
  });

  it('renews in the background for several TTLs', async () => {
    const name = `${run}-renew`;
    const lock = await client.locks.hold(name, { ttlMs: 3_000 });
    await pause(7_000);
    assert.equal(lock.lost, false);
    const { lock: current } = await client.locks.get(name);
    assert.equal(current?.fencing_token, lock.fencingToken);
    await lock.release();
    await lock.release(); // a second release does nothing
  });

  it('signals the loss inside the block and throws LockLostError at its end', async () => {
    const name = `${run}-lost`;
    const error = await (async () => {
      await using lock = await client.locks.hold(name, { ttlMs: 1_500 });
      // Someone releases the grant behind the hold's back: the next renewal is LOCK_NOT_HELD.
      await client.locks.release(name, { owner: lock.owner, fencing_token: lock.fencingToken });
      await once(lock.signal, 'abort');
      assert.ok(lock.signal.reason instanceof LockLostError);
    })().catch((e: unknown) => e);
    assert.ok(error instanceof LockLostError, String(error));
    assert.equal(error.lockName, name);
  });

  it('without auto-renewal, is lost when its deadline passes', async () => {
    const name = `${run}-norenew`;
    const lock = await client.locks.hold(name, { ttlMs: 1_000, autoRenew: false });
    await once(lock.signal, 'abort');
    await assert.rejects(lock.release(), LockLostError);
  });

  it('waits in line for a held lock and gets a higher token', async () => {
    const name = `${run}-line`;
    const first = await client.locks.hold(name, { ttlMs: 10_000 });
    const waiting = client.locks.hold(name, { ttlMs: 10_000, waitTimeoutMs: 15_000 });
    await pause(500);
    await first.release();
    const second = await waiting;
    assert.ok(second.fencingToken > first.fencingToken);
    await second.release();
  });
});

describe('saga worker (live)', { skip }, () => {
  it('runs tasks, heartbeating a handler slower than its lease, and completes them', async () => {
    const type = `${run}.slow`;
    await startSaga(`${run}-slow`, type);
    const stop = new AbortController();
    const seen: number[] = [];
    const worker = client.sagas.worker({
      taskTypes: [type],
      visibilityTimeoutMs: 1_500,
      waitTimeoutMs: 1_000,
      handler: async (task) => {
        seen.push(task.attempt);
        await pause(4_000);
        stop.abort();
        return { charged: task.input ?? null };
      },
    });
    await worker.run(stop.signal);
    const saga = await sagaIn(`${run}-slow`, ['COMPLETED']);
    assert.deepEqual(seen, [1]);
    assert.deepEqual(saga.steps[0]?.output, { charged: { order: 7 } });
  });

  it('fails a task for good with NonRetryableTaskError', async () => {
    const type = `${run}.bad`;
    await startSaga(`${run}-bad`, type);
    const stop = new AbortController();
    const worker = client.sagas.worker({
      taskTypes: [type],
      waitTimeoutMs: 1_000,
      handler: () => {
        stop.abort();
        throw new NonRetryableTaskError('card declined');
      },
    });
    await worker.run(stop.signal);
    const saga = await sagaIn(`${run}-bad`, ['COMPENSATED', 'FAILED']);
    assert.equal(saga.steps[0]?.attempts, 1);
    assert.match(saga.steps[0]?.error ?? '', /NonRetryableTaskError: card declined/);
  });

  it('hands back a task still running when the shutdown grace ends', async () => {
    const type = `${run}.handback`;
    await startSaga(`${run}-handback`, type);
    const stop = new AbortController();
    let cancelled = false;
    const slow = client.sagas.worker({
      taskTypes: [type],
      waitTimeoutMs: 1_000,
      shutdownGraceMs: 200,
      handler: async (_task, { signal }) => {
        stop.abort();
        await once(signal, 'abort');
        cancelled = true;
        return 'too late';
      },
    });
    await slow.run(stop.signal);
    assert.ok(cancelled);
    const again = new AbortController();
    const attempts: number[] = [];
    const next = client.sagas.worker({
      taskTypes: [type],
      waitTimeoutMs: 1_000,
      handler: (task) => {
        attempts.push(task.attempt);
        again.abort();
        return null;
      },
    });
    await next.run(again.signal);
    assert.deepEqual(attempts, [2]);
    const saga = await sagaIn(`${run}-handback`, ['COMPLETED']);
    assert.equal(saga.steps[0]?.output, null);
  });

  it('stops with the error of a poll that is not authenticated', async () => {
    const anonymous = new Concord({ baseURL, apiKey: null });
    const worker = anonymous.sagas.worker({ taskTypes: [`${run}.none`], handler: () => undefined });
    await assert.rejects(worker.run(), /UNAUTHENTICATED/);
  });
});
