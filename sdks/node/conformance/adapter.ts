/**
 * The conformance adapter of the TypeScript SDK (docs/conformance.md): NDJSON calls on stdin,
 * one answer line per call on stdout, logs on stderr. It uses only the SDK's public API; the op
 * table (`adapter-ops.ts`) is generated from the contract, this file holds the loop, the client
 * cache and the error mapping. A call's per-call `options` become the SDK's per-call options,
 * and `cancel_after_ms` aborts an AbortController's signal given to the call that long after it
 * starts. Set CONCORD_CONFORMANCE_DEBUG=1 to log every SDK request.
 */

import { Console } from 'node:console';
import { createInterface } from 'node:readline';
import {
  APIConnectionError,
  APIError,
  APITimeoutError,
  APIUserAbortError,
  Concord,
  CrossOriginRedirectError,
  type RequestOptions,
} from '@concord/sdk';
import { ops as contractOps, type Op } from './adapter-ops.js';
import { holdLock, runWorker } from './helpers.js';
import type { Input, StreamSpec } from './io.js';

interface ClientConfig {
  base_url?: string;
  api_key?: string;
  bearer_token?: string;
  max_retries?: number;
  timeout_ms?: number;
  headers?: Record<string, string>;
}

/** The protocol's per-call options: each applies to this call only, over the client's. */
interface CallOptions {
  headers?: Record<string, string>;
  idempotency_key?: string;
  timeout_ms?: number;
  max_retries?: number;
  cancel_after_ms?: number;
}

interface Call {
  type: string;
  id: string;
  client: string;
  client_config: ClientConfig;
  op: string;
  input?: Input | null;
  stream?: StreamSpec;
  options?: CallOptions;
}

type Answer =
  | { id: string; notice: 'stream_open' }
  | { id: string; outcome: 'ok'; result: unknown }
  | { id: string; outcome: 'api_error' | 'client_error'; error: Record<string, unknown> }
  | { id: string; outcome: 'adapter_error'; message: string };

/** The contract's RPCs and the helper ops of docs/conformance.md. */
const ops: Record<string, Op | undefined> = {
  ...contractOps,
  'helper.HoldLock': holdLock,
  'helper.RunWorker': runWorker,
};

const clients = new Map<string, Concord>();
const debug = Boolean(process.env.CONCORD_CONFORMANCE_DEBUG);
/** Logs go to stderr: stdout carries only answers. */
const logger = new Console({ stdout: process.stderr, stderr: process.stderr });

/** The SDK client of a named client and its configuration, made once. */
function clientFor(name: string, config: ClientConfig): Concord {
  const key = JSON.stringify([name, config]);
  let client = clients.get(key);
  if (client === undefined) {
    client = new Concord({
      baseURL: config.base_url,
      apiKey: config.api_key || null,
      bearerToken: config.bearer_token || null,
      maxRetries: config.max_retries,
      timeoutMs: config.timeout_ms || undefined,
      defaultHeaders: config.headers ?? {},
      logger,
      logLevel: debug ? 'debug' : 'off',
    });
    clients.set(key, client);
  }
  return client;
}

/** Runs one call and turns its outcome into an answer. */
async function handle(call: Call): Promise<Answer> {
  const op = ops[call.op];
  if (op === undefined) {
    return { id: call.id, outcome: 'adapter_error', message: `unknown op ${call.op}` };
  }
  const options = requestOptions(call.options ?? {});
  const cancelAfter = call.options?.cancel_after_ms;
  const canceller = cancelAfter === undefined ? undefined : new AbortController();
  const timer = canceller && setTimeout(() => canceller.abort(), cancelAfter);
  try {
    const client = clientFor(call.client, call.client_config ?? {});
    const stream = call.stream && {
      ...call.stream,
      opened: () => write({ id: call.id, notice: 'stream_open' }),
    };
    const signal = canceller === undefined ? {} : { signal: canceller.signal };
    const result = await op(client, call.input ?? {}, stream, { ...options, ...signal });
    return { id: call.id, outcome: 'ok', result: result ?? {} };
  } catch (error) {
    return report(call.id, error);
  } finally {
    clearTimeout(timer);
  }
}

/** The protocol's per-call options as the SDK's own (`cancel_after_ms` is the caller's signal). */
function requestOptions(options: CallOptions): RequestOptions {
  const out: RequestOptions = {};
  if (options.headers !== undefined) {
    out.headers = options.headers;
  }
  if (options.idempotency_key !== undefined) {
    out.idempotencyKey = options.idempotency_key;
  }
  if (options.timeout_ms !== undefined) {
    out.timeoutMs = options.timeout_ms;
  }
  if (options.max_retries !== undefined) {
    out.maxRetries = options.max_retries;
  }
  return out;
}

/**
 * An API error with its code and class name; a refused cross-origin redirect, a call without an
 * answer, a timeout or the caller's abort as a client error of its kind; anything else is an
 * adapter error (never a pass).
 */
function report(id: string, error: unknown): Answer {
  const kind = clientErrorKind(error);
  if (kind !== undefined && error instanceof Error) {
    const native = error.constructor.name;
    return {
      id,
      outcome: 'client_error',
      error: { kind, native_type: native, message: error.message },
    };
  }
  if (!(error instanceof APIError)) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { id, outcome: 'adapter_error', message };
  }
  return {
    id,
    outcome: 'api_error',
    error: {
      code: error.code,
      native_type: error.constructor.name,
      http_status: error.status,
      request_id: error.requestId,
      message: error.rawMessage,
      details: error.details,
    },
  };
}

/**
 * The protocol's `kind` of an SDK error that is not a catalogue error, if it has one. A timeout
 * is checked before the connection error it specialises.
 */
function clientErrorKind(error: unknown): string | undefined {
  if (error instanceof CrossOriginRedirectError) {
    return 'cross_origin_redirect';
  }
  if (error instanceof APITimeoutError) {
    return 'timeout';
  }
  if (error instanceof APIUserAbortError) {
    return 'cancelled';
  }
  return error instanceof APIConnectionError ? 'connection' : undefined;
}

function write(answer: Answer): void {
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}

/** Reads calls until `shutdown` or the end of input, then waits for the calls in flight. */
async function main(): Promise<void> {
  const pending = new Set<Promise<void>>();
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (line.trim() === '') {
      continue;
    }
    let call: Call;
    try {
      call = JSON.parse(line) as Call;
    } catch (error) {
      console.error(`concord-conformance: unreadable line: ${String(error)}`);
      continue;
    }
    if (call.type === 'shutdown') {
      break;
    }
    if (call.type !== 'call') {
      console.error(`concord-conformance: unknown message type ${call.type}`);
      continue;
    }
    const running = handle(call).then(write);
    pending.add(running);
    void running.finally(() => pending.delete(running));
  }
  await Promise.all(pending);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error('concord-conformance: fatal', error);
    process.exit(1);
  },
);
