/** The hand-written helpers: lock holds and the saga task worker (docs/sdk-helpers.md). */

export { DEFAULT_HOLD_TTL_MS, HeldLock, type HoldOptions, LockLostError } from './locks.js';
export {
  NonRetryableTaskError,
  SagaWorker,
  type TaskContext,
  type TaskHandler,
  type TaskResult,
  type WorkerOptions,
} from './sagas.js';
