/** The REST form of a call: the endpoint a generated method describes, and where it goes. */

import { pathSegment, queryString } from './wire.js';

/** One REST call as a generated method describes it. */
export interface Endpoint {
  /** The contract's RPC, e.g. `AcquireLock` (for logs and errors). */
  rpc: string;
  /** The HTTP method. */
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The path template, e.g. `/v1/locks/{name}:acquire`. */
  path: string;
  /** The whole request in its contract JSON; its fields fill the path, then body or query. */
  request: object;
  /** `'*'`: every field not in the path is the body; a field name: that field is; none: no body. */
  body?: string | undefined;
  /** True when the contract marks the RPC idempotent: it is retried without a key. */
  idempotent: boolean;
}

/** The fields of a paginated answer and request (AIP-158). */
export interface PageFields<TBody> {
  /** The answer's list of items. */
  items: keyof TBody & string;
  /** The request's page token. */
  token: string;
  /** The answer's next page token. */
  next: keyof TBody & string;
}

/** Where a request goes: the path (query string included) and the JSON body, if any. */
export function target(endpoint: Endpoint): { path: string; body: unknown } {
  const request = endpoint.request as Record<string, unknown>;
  const inPath = new Set<string>();
  const path = endpoint.path.replace(/\{([^}]+)\}/g, (_match, name: string) => {
    inPath.add(name);
    return pathSegment(endpoint.rpc, name, request[name]);
  });
  const rest = Object.fromEntries(Object.entries(request).filter(([name]) => !inPath.has(name)));
  if (endpoint.body === '*') {
    return { path, body: rest };
  }
  if (endpoint.body) {
    const { [endpoint.body]: body, ...query } = rest;
    return { path: path + queryString(query), body: body ?? {} };
  }
  return { path: path + queryString(rest), body: undefined };
}

/** Sets or (for `null`) deletes headers. */
export function applyHeaders(
  headers: Headers,
  extra: Record<string, string | null> | undefined,
): void {
  for (const [name, value] of Object.entries(extra ?? {})) {
    if (value === null) {
      headers.delete(name);
    } else {
      headers.set(name, value);
    }
  }
}

/** The request id of an answer. */
export function requestIdOf(response: Response): string {
  return response.headers.get('x-request-id') ?? '';
}
