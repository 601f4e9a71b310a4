/** Errors as people read them: the catalogue code, the message and the request id. */

import { APIConnectionError, APIError, APIUserAbortError } from '@concord/sdk';
import { h } from './dom.js';

/** True for the abort of a view that was left (not an error to show). */
export function isAbort(error: unknown): boolean {
  return error instanceof APIUserAbortError || (error instanceof DOMException && error.name === 'AbortError');
}

/** A box that says what failed; API errors show their code and request id. */
export function errorBox(error: unknown): HTMLElement {
  if (error instanceof APIError) {
    return h(
      'div',
      { class: 'error', role: 'alert', 'data-testid': 'error' },
      h('strong', { 'data-testid': 'error-code' }, error.code),
      ` ${error.rawMessage}`,
      h('div', { class: 'request-id' }, 'request id: ', h('code', { 'data-testid': 'request-id' }, error.requestId || '-'), ` (HTTP ${error.status})`),
    );
  }
  const text = error instanceof APIConnectionError ? `no answer from the server: ${error.message}` : String(error);
  return h('div', { class: 'error', role: 'alert', 'data-testid': 'error' }, text);
}
