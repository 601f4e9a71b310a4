/** Server-Sent Events: lines of a byte stream, and the events they form (WHATWG rules). */

/** One dispatched event. */
export interface ServerSentEvent {
  /** The event type; `message` unless an `event:` line named one. */
  event: string;
  /** The `data:` lines, joined by `\n`. */
  data: string;
  /** The last `id:` seen. */
  id: string;
  /** The `retry:` reconnection delay in milliseconds, when the event set one. */
  retry: number | undefined;
}

/** Splits decoded text into lines at `\n`, `\r\n` or `\r`, across chunk boundaries. */
export class LineDecoder {
  #buffer = '';
  #trailingCR = false;

  /** The complete lines of `chunk` (without line endings); the rest waits for more text. */
  decode(chunk: string): string[] {
    let text = chunk;
    if (this.#trailingCR && text.startsWith('\n')) {
      text = text.slice(1);
    }
    this.#trailingCR = text.endsWith('\r');
    const parts = (this.#buffer + text).split(/\r\n|\r|\n/);
    this.#buffer = parts.pop() ?? '';
    return parts;
  }

  /** The unfinished last line at the end of the input (an event without a blank line). */
  flush(): string[] {
    const rest = this.#buffer;
    this.#buffer = '';
    return rest ? [rest] : [];
  }
}

/**
 * Turns lines into events: a blank line dispatches; comments (`:`) are skipped. A frame without
 * data (an id-only frame) dispatches nothing but still sets `lastEventId`.
 */
export class SSEDecoder {
  #event = '';
  #data: string[] = [];
  #id: string;
  #retry: number | undefined;
  #lastEventId: string;

  /** A decoder whose last event id starts as `lastEventId` (the one of a previous connection). */
  constructor(lastEventId = '') {
    this.#id = lastEventId;
    this.#lastEventId = lastEventId;
  }

  /** The id of the last frame dispatched (`''` before any `id:` line). */
  get lastEventId(): string {
    return this.#lastEventId;
  }

  /** Processes one line; returns an event when the line ends one. */
  decode(line: string): ServerSentEvent | undefined {
    if (line === '') {
      return this.#dispatch();
    }
    if (line.startsWith(':')) {
      return undefined;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) {
      value = value.slice(1);
    }
    if (field === 'event') {
      this.#event = value;
    } else if (field === 'data') {
      this.#data.push(value);
    } else if (field === 'id' && !value.includes('\0')) {
      this.#id = value;
    } else if (field === 'retry' && /^\d+$/.test(value)) {
      this.#retry = Number(value);
    }
    return undefined;
  }

  #dispatch(): ServerSentEvent | undefined {
    this.#lastEventId = this.#id;
    if (this.#data.length === 0 && this.#event === '') {
      return undefined;
    }
    const event = {
      event: this.#event || 'message',
      data: this.#data.join('\n'),
      id: this.#id,
      retry: this.#retry,
    };
    this.#event = '';
    this.#data = [];
    this.#retry = undefined;
    return event;
  }
}

/** A read of the body that failed: the connection broke. */
export class StreamBroken extends Error {}

/**
 * The events of an SSE body, parsed by `events` (whose `lastEventId` follows them); a failed read
 * throws `StreamBroken`; an unfinished event is dropped.
 */
export async function* sseEvents(
  body: ReadableStream<Uint8Array>,
  events: SSEDecoder = new SSEDecoder(),
): AsyncGenerator<ServerSentEvent, void, undefined> {
  const reader = body.getReader();
  const text = new TextDecoder();
  const lines = new LineDecoder();
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (cause) {
        throw new StreamBroken(cause instanceof Error ? cause.message : String(cause), { cause });
      }
      if (chunk.done) {
        return;
      }
      for (const line of lines.decode(text.decode(chunk.value, { stream: true }))) {
        const event = events.decode(line);
        if (event !== undefined) {
          yield event;
        }
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
