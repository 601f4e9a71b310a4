/** The base of every resource class (`client.locks`, `client.events` …). */

import type { ConcordCore } from './core.js';

/** A group of calls of one service, sharing the client's transport. */
export class APIResource {
  /** The client the calls go through. */
  protected readonly _client: ConcordCore;

  /** Binds the resource to a client (the client does this). */
  constructor(client: ConcordCore) {
    this._client = client;
  }
}
