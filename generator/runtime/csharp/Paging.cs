using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace Concord
{
    /// <summary>One page of a listing: its items and the token of the next page (null after the last).</summary>
    public abstract class Page<T>
    {
        /// <summary>For mocking and subclasses.</summary>
        protected Page()
        {
        }

        /// <summary>The items of this page.</summary>
        public abstract IReadOnlyList<T> Values { get; }

        /// <summary>The token that continues the listing after this page; null after the last page.</summary>
        public abstract string ContinuationToken { get; }

        /// <summary>The HTTP answer of this page (null for a page built by hand).</summary>
        public abstract RawResponse GetRawResponse();

        /// <summary>A page of fixed values, for tests and mocks.</summary>
        public static Page<T> FromValues(IReadOnlyList<T> values, string continuationToken, RawResponse response = null)
        {
            Argument.NotNull(values, nameof(values));
            return new FixedPage(values, continuationToken, response);
        }

        private sealed class FixedPage : Page<T>
        {
            private readonly RawResponse _response;

            internal FixedPage(IReadOnlyList<T> values, string continuationToken, RawResponse response)
            {
                Values = values;
                ContinuationToken = string.IsNullOrEmpty(continuationToken) ? null : continuationToken;
                _response = response;
            }

            public override IReadOnlyList<T> Values { get; }

            public override string ContinuationToken { get; }

            public override RawResponse GetRawResponse()
            {
                return _response;
            }
        }
    }

    /// <summary>A listing read page by page as it is enumerated (blocking); <see cref="AsPages"/> gives whole pages.</summary>
    public abstract class Pageable<T> : IEnumerable<T>
    {
        /// <summary>For mocking and subclasses.</summary>
        protected Pageable()
        {
        }

        /// <summary>The pages, starting at <paramref name="continuationToken"/> (null: where the call's parameters start).</summary>
        public abstract IEnumerable<Page<T>> AsPages(string continuationToken = null);

        /// <summary>A listing over fixed pages, for tests and mocks.</summary>
        public static Pageable<T> FromPages(IEnumerable<Page<T>> pages)
        {
            Argument.NotNull(pages, nameof(pages));
            return new FixedPageable(pages);
        }

        /// <summary>Every item of every page, fetching pages as it goes.</summary>
        public virtual IEnumerator<T> GetEnumerator()
        {
            return AsPages().SelectMany(page => page.Values).GetEnumerator();
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator()
        {
            return GetEnumerator();
        }

        private sealed class FixedPageable : Pageable<T>
        {
            private readonly IEnumerable<Page<T>> _pages;

            internal FixedPageable(IEnumerable<Page<T>> pages)
            {
                _pages = pages;
            }

            public override IEnumerable<Page<T>> AsPages(string continuationToken = null)
            {
                return _pages;
            }
        }
    }

    /// <summary>An asynchronous cursor: <c>while (await cursor.MoveNextAsync()) { use(cursor.Current); }</c>.</summary>
    public abstract class AsyncCursor<T> : IDisposable
    {
        /// <summary>For mocking and subclasses.</summary>
        protected AsyncCursor()
        {
        }

        /// <summary>The element the last successful <see cref="MoveNextAsync"/> reached.</summary>
        public abstract T Current { get; }

        /// <summary>Moves to the next element; false at the end.</summary>
        public abstract Task<bool> MoveNextAsync();

        /// <summary>Stops the cursor (no more pages are fetched).</summary>
        public virtual void Dispose()
        {
        }
    }

    /// <summary>A listing fetched page by page without blocking: walk its items with <see cref="GetAsyncEnumerator"/>, its pages with <see cref="AsPages"/>.</summary>
    public abstract class AsyncPageable<T>
    {
        /// <summary>For mocking and subclasses.</summary>
        protected AsyncPageable()
        {
        }

        /// <summary>A cursor over the pages, starting at <paramref name="continuationToken"/> (null: where the call's parameters start).</summary>
        public abstract AsyncCursor<Page<T>> AsPages(string continuationToken = null, CancellationToken cancellationToken = default(CancellationToken));

        /// <summary>A cursor over every item of every page, fetching pages as it goes.</summary>
        public virtual AsyncCursor<T> GetAsyncEnumerator(CancellationToken cancellationToken = default(CancellationToken))
        {
            return new ItemCursor(AsPages(null, cancellationToken));
        }

        /// <summary>Every item of every page, in one list.</summary>
        public virtual async Task<List<T>> ToListAsync(CancellationToken cancellationToken = default(CancellationToken))
        {
            var items = new List<T>();
            using (var pages = AsPages(null, cancellationToken))
            {
                while (await pages.MoveNextAsync().ConfigureAwait(false))
                {
                    items.AddRange(pages.Current.Values);
                }
            }
            return items;
        }

        /// <summary>A listing over fixed pages, for tests and mocks.</summary>
        public static AsyncPageable<T> FromPages(IEnumerable<Page<T>> pages)
        {
            Argument.NotNull(pages, nameof(pages));
            return new FixedAsyncPageable(pages);
        }

        private sealed class ItemCursor : AsyncCursor<T>
        {
            private readonly AsyncCursor<Page<T>> _pages;
            private IEnumerator<T> _items = Enumerable.Empty<T>().GetEnumerator();

            internal ItemCursor(AsyncCursor<Page<T>> pages)
            {
                _pages = pages;
            }

            public override T Current => _items.Current;

            public override async Task<bool> MoveNextAsync()
            {
                while (!_items.MoveNext())
                {
                    if (!await _pages.MoveNextAsync().ConfigureAwait(false))
                    {
                        return false;
                    }
                    _items = _pages.Current.Values.GetEnumerator();
                }
                return true;
            }

            public override void Dispose()
            {
                _pages.Dispose();
            }
        }

        private sealed class FixedAsyncPageable : AsyncPageable<T>
        {
            private readonly IEnumerable<Page<T>> _pages;

            internal FixedAsyncPageable(IEnumerable<Page<T>> pages)
            {
                _pages = pages;
            }

            public override AsyncCursor<Page<T>> AsPages(string continuationToken = null, CancellationToken cancellationToken = default(CancellationToken))
            {
                return new FixedCursor(_pages.GetEnumerator());
            }
        }

        private sealed class FixedCursor : AsyncCursor<Page<T>>
        {
            private readonly IEnumerator<Page<T>> _pages;

            internal FixedCursor(IEnumerator<Page<T>> pages)
            {
                _pages = pages;
            }

            public override Page<T> Current => _pages.Current;

            public override Task<bool> MoveNextAsync()
            {
                return Task.FromResult(_pages.MoveNext());
            }
        }
    }
}
