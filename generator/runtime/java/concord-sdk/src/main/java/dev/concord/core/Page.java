package dev.concord.core;

import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.function.Function;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * One page of a list call (AIP-158), with the way to the next ones.
 *
 * <pre>{@code
 * for (Lock lock : client.locks().list(params).autoPager()) { ... }
 * client.locks().list().autoPager().stream().map(Lock::name).toList();
 * }</pre>
 *
 * @param <T> the item type
 * @param <R> the page's response type
 */
public final class Page<T, R> {
  private final R response;
  private final List<T> items;
  private final String nextPageToken;
  private final Function<String, Page<T, R>> fetch;

  /** A page: its response, items, next token, and how to fetch a page by token. */
  public Page(R response, List<T> items, String nextPageToken, Function<String, Page<T, R>> fetch) {
    this.response = response;
    this.items = items;
    this.nextPageToken = nextPageToken;
    this.fetch = fetch;
  }

  /** The page's whole response. */
  public R response() {
    return response;
  }

  /** The items of this page. */
  public List<T> items() {
    return items;
  }

  /** The token of the next page ("" on the last page). */
  public String nextPageToken() {
    return nextPageToken;
  }

  /** True unless this is the last page. */
  public boolean hasNextPage() {
    return !nextPageToken.isEmpty();
  }

  /** Fetches the next page; NoSuchElementException on the last page. */
  public Page<T, R> nextPage() {
    if (!hasNextPage()) {
      throw new NoSuchElementException("this is the last page");
    }
    return fetch.apply(nextPageToken);
  }

  /** Every item of this page and the following ones, fetched as the iteration goes. */
  public AutoPager<T> autoPager() {
    return new AutoPager<>(this);
  }

  /**
   * The items of a page and the pages after it, fetched lazily; iterable more than once (each
   * iteration after the first fetches the pages again).
   *
   * @param <T> the item type
   */
  public static final class AutoPager<T> implements Iterable<T> {
    private final Page<T, ?> first;

    AutoPager(Page<T, ?> first) {
      this.first = first;
    }

    @Override
    public Iterator<T> iterator() {
      return new Iterator<>() {
        private Page<T, ?> page = first;
        private Iterator<T> current = first.items().iterator();

        @Override
        public boolean hasNext() {
          while (!current.hasNext() && page.hasNextPage()) {
            page = page.nextPage();
            current = page.items().iterator();
          }
          return current.hasNext();
        }

        @Override
        public T next() {
          if (!hasNext()) {
            throw new NoSuchElementException();
          }
          return current.next();
        }
      };
    }

    /** The items as a sequential {@link Stream}. */
    public Stream<T> stream() {
      return StreamSupport.stream(
          Spliterators.spliteratorUnknownSize(iterator(), Spliterator.ORDERED), false);
    }
  }
}
