/**
 * Auto-pagination (AIP-158): `for await (const lock of client.locks.list())` walks every item,
 * fetching pages as it goes; `await client.locks.list()` is the first `Page`.
 */

import { APIPromise, type WithResponse } from './api-promise.js';

/** How to fetch and read the pages of one list call (the generated method provides it). */
export interface PageSource<TItem, TBody> {
  /** Fetches the page at `token` (`''` for the first). */
  fetch(token: string): APIPromise<TBody>;
  /** The page's items. */
  items(body: TBody): TItem[];
  /** The token of the next page; `''` after the last. */
  next(body: TBody): string;
}

/** One page of a listing: its items, the whole answer, and the way to the next page. */
export class Page<TItem, TBody> implements AsyncIterable<TItem> {
  /** The items of this page. */
  readonly items: TItem[];
  /** The whole answer message of this page. */
  readonly body: TBody;
  /** The token of the next page; `''` after the last page. */
  readonly nextPageToken: string;
  /** The HTTP response of this page. */
  readonly response: Response;
  readonly #source: PageSource<TItem, TBody>;

  /** Makes a page from an answer (the client does this). */
  constructor(source: PageSource<TItem, TBody>, result: WithResponse<TBody>) {
    this.#source = source;
    this.body = result.data;
    this.response = result.response;
    this.items = source.items(result.data);
    this.nextPageToken = source.next(result.data);
  }

  /** True when another page follows. */
  hasNextPage(): boolean {
    return this.nextPageToken !== '';
  }

  /** Fetches the next page; rejects with a RangeError after the last one. */
  getNextPage(): PagePromise<TItem, TBody> {
    if (!this.hasNextPage()) {
      return PagePromise.fail(new RangeError('this is the last page: check hasNextPage() first'));
    }
    return PagePromise.of(this.#source, this.nextPageToken);
  }

  /** This page and every page after it. */
  async *iterPages(): AsyncGenerator<Page<TItem, TBody>, void, undefined> {
    let page: Page<TItem, TBody> = this;
    yield page;
    while (page.hasNextPage()) {
      page = await page.getNextPage();
      yield page;
    }
  }

  /** Every item of this page and of the pages after it. */
  async *[Symbol.asyncIterator](): AsyncGenerator<TItem, void, undefined> {
    for await (const page of this.iterPages()) {
      yield* page.items;
    }
  }
}

/** The first page of a listing as an `APIPromise`, which `for await` walks item by item. */
export class PagePromise<TItem, TBody>
  extends APIPromise<Page<TItem, TBody>>
  implements AsyncIterable<TItem>
{
  /** The page of `source` at `token`. */
  static of<TItem, TBody>(source: PageSource<TItem, TBody>, token = ''): PagePromise<TItem, TBody> {
    const result = source
      .fetch(token)
      .withResponse()
      .then((raw) => ({ ...raw, data: new Page(source, raw) }));
    return new PagePromise(result);
  }

  /** A page promise that rejects with `error`. */
  static fail<TItem, TBody>(error: Error): PagePromise<TItem, TBody> {
    return new PagePromise(Promise.reject(error));
  }

  /** Every item of every page, from this one on. */
  async *[Symbol.asyncIterator](): AsyncGenerator<TItem, void, undefined> {
    const first = await this;
    yield* first;
  }
}
