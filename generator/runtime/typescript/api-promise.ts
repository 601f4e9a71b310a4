/** `APIPromise`: the answer of a call, awaitable as the parsed message or with its raw response. */

/** A parsed answer with the HTTP response it came from. */
export interface WithResponse<T> {
  /** The parsed answer. */
  data: T;
  /** The HTTP response (its body is already read, except for streams). */
  response: Response;
  /** The request's id in the server's logs (`X-Request-ID`), `''` when the server sent none. */
  requestId: string;
}

/**
 * The result of every call. `await` it for the parsed answer, or call `withResponse()` for the
 * answer with its HTTP response (headers, status) and request id. The request is sent at once.
 */
export class APIPromise<T> implements PromiseLike<T> {
  readonly #result: Promise<WithResponse<T>>;

  /** Wraps a pending answer (the client makes these). */
  constructor(result: Promise<WithResponse<T>>) {
    this.#result = result;
  }

  /** The parsed answer together with its HTTP response and request id. */
  withResponse(): Promise<WithResponse<T>> {
    return this.#result;
  }

  /** Only the HTTP response. */
  asResponse(): Promise<Response> {
    return this.#result.then((result) => result.response);
  }

  /** Like `Promise.prototype.then`, on the parsed answer. */
  // biome-ignore lint/suspicious/noThenProperty: an APIPromise is awaitable by design.
  then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#result.then((result) => result.data).then(onfulfilled, onrejected);
  }

  /** Like `Promise.prototype.catch`. */
  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
    return this.then(undefined, onrejected);
  }

  /** Like `Promise.prototype.finally`. */
  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onfinally);
  }

  /** `[object APIPromise]`. */
  get [Symbol.toStringTag](): string {
    return 'APIPromise';
  }
}
