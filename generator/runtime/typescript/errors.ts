/**
 * The roots of the error hierarchy. Every error this SDK throws is a `ConcordError`; an error
 * answer of the server is an `APIError` subclass named after its catalogue code (generated in
 * `errors.ts`, e.g. `LockConflictError`).
 */

import type { JsonObject } from './wire.js';

/** The root of every error this SDK throws. */
export class ConcordError extends Error {
  /** Creates an error; `options.cause` keeps the underlying error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The contract's error body (`concord.v1.Error`); other members (RFC 9457) are ignored. */
export interface ErrorBody {
  /** The catalogue code, e.g. `LOCK_CONFLICT`. */
  code: string;
  /** A message for people. */
  message: string;
  /** Machine-readable facts about the error. */
  details: JsonObject;
  /** The request's id in the server's logs. */
  request_id: string;
}

/** What an `APIError` is made of. */
export interface APIErrorInit {
  /** The HTTP status (for an error inside a stream, the one the catalogue gives its code). */
  status: number;
  /** The catalogue code (derived from the status when the body is not a Concord error). */
  code: string;
  /** The server's message. */
  message: string;
  /** Machine-readable facts, e.g. `actual_revision` of WRONG_EXPECTED_REVISION. */
  details: JsonObject;
  /** The request id (the body's, else the `X-Request-ID` header). */
  requestId: string;
  /** The HTTP answer, its body already read; undefined for an error inside a stream. */
  response: Response | undefined;
  /** The RPC that failed, e.g. `AcquireLock`. */
  rpc: string;
}

/** The server answered with an error; subclasses per catalogue code are generated. */
export class APIError extends ConcordError {
  /** The HTTP status of the answer. */
  readonly status: number;
  /** The catalogue code, e.g. `LOCK_CONFLICT` (an unknown future code is kept as sent). */
  readonly code: string;
  /** Machine-readable facts about the error. */
  readonly details: JsonObject;
  /** The request's id in the server's logs. */
  readonly requestId: string;
  /** The raw HTTP answer (undefined for an error sent inside a stream). */
  readonly response: Response | undefined;
  /** The RPC that failed. */
  readonly rpc: string;
  /** The server's message, without the prefix `message` carries. */
  readonly rawMessage: string;

  /** Creates the error from its parts (the SDK does this; tests and mocks may too). */
  constructor(init: APIErrorInit) {
    super(describe(init));
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
    this.requestId = init.requestId;
    this.response = init.response;
    this.rpc = init.rpc;
    this.rawMessage = init.message;
  }
}

function describe(init: APIErrorInit): string {
  const status = init.status ? ` (HTTP ${init.status})` : '';
  const text = init.message ? `: ${init.message}` : '';
  const id = init.requestId ? ` [request_id ${init.requestId}]` : '';
  return `${init.rpc}: ${init.code}${status}${text}${id}`;
}

/** No answer came: the connection failed or broke before the answer was complete. */
export class APIConnectionError extends ConcordError {}

/** An attempt did not finish within its timeout (`timeoutMs`). */
export class APITimeoutError extends APIConnectionError {}

/** The caller aborted the call through its `signal`. */
export class APIUserAbortError extends ConcordError {}

/** The server closed a WebSocket subscription (code 4008) because the client read too slowly. */
export class SlowConsumerError extends APIConnectionError {}

/** The answer could not be read as the contract's JSON. */
export class APIResponseError extends ConcordError {}

/** The server redirected a call to another origin; it was not followed (credentials stay home). */
export class CrossOriginRedirectError extends ConcordError {
  /** Where the redirect pointed (undefined when a browser hides it). */
  readonly location: string | undefined;

  /** Creates the error of a redirect of `rpc` to `location`. */
  constructor(rpc: string, location: string | undefined) {
    const where = location ?? 'a target the browser does not show';
    super(`${rpc}: redirect to another origin not followed: ${where}`);
    this.location = location;
  }
}

/** The Concord error body in a text, if it is one. */
export function errorBodyOf(text: string): ParsedErrorBody | undefined {
  try {
    return readErrorBody(JSON.parse(text));
  } catch {
    return undefined;
  }
}

export interface ParsedErrorBody {
  code: string;
  message: string;
  details: JsonObject;
  request_id: string;
}

/** The four members of the contract's error body; undefined when `code` is missing. */
export function readErrorBody(value: unknown): ParsedErrorBody | undefined {
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }
  const body = value as Record<string, unknown>;
  if (typeof body.code !== 'string' || body.code === '') {
    return undefined;
  }
  const details = body.details;
  return {
    code: body.code,
    message: typeof body.message === 'string' ? body.message : '',
    details:
      typeof details === 'object' && details !== null && !Array.isArray(details)
        ? (details as JsonObject)
        : {},
    request_id: typeof body.request_id === 'string' ? body.request_id : '',
  };
}

/** The start of a text, for messages. */
export function snippet(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > 200 ? `${trimmed.slice(0, 200)}…` : trimmed;
}
