package dev.concord.core;

import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * One page of a list call on the async client.
 *
 * <pre>{@code
 * client.async().locks().list().thenCompose(page -> page.forEachItem(lock -> ...));
 * }</pre>
 *
 * @param <T> the item type
 * @param <R> the page's response type
 */
public final class AsyncPage<T, R> {
  private final R response;
  private final List<T> items;
  private final String nextPageToken;
  private final Function<String, CompletableFuture<AsyncPage<T, R>>> fetch;

  /** A page: its response, items, next token, and how to fetch a page by token. */
  public AsyncPage(
      R response,
      List<T> items,
      String nextPageToken,
      Function<String, CompletableFuture<AsyncPage<T, R>>> fetch) {
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

  /** Fetches the next page; fails with NoSuchElementException on the last page. */
  public CompletableFuture<AsyncPage<T, R>> nextPage() {
    if (!hasNextPage()) {
      return CompletableFuture.failedFuture(new NoSuchElementException("this is the last page"));
    }
    return fetch.apply(nextPageToken);
  }

  /** Gives every item of this page and the following ones to {@code action}, in order. */
  public CompletableFuture<Void> forEachItem(Consumer<? super T> action) {
    items.forEach(action);
    if (!hasNextPage()) {
      return CompletableFuture.completedFuture(null);
    }
    return nextPage().thenCompose(next -> next.forEachItem(action));
  }
}
