using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace Concord
{
    /// <summary>How a generated list method fetches one page: the request for a token, the items and the next token of an answer.</summary>
    internal sealed class PagedCall<TItem, TResponse>
        where TResponse : ConcordResult, new()
    {
        internal PagedCall(HttpPipeline pipeline, Func<string, ApiRequest> request, Func<TResponse, IList<TItem>> items, Func<TResponse, string> next, string firstToken, RequestOptions options)
        {
            Pipeline = pipeline;
            Request = request;
            Items = items;
            Next = next;
            FirstToken = firstToken;
            Options = options;
        }

        internal HttpPipeline Pipeline { get; }
        internal Func<string, ApiRequest> Request { get; }
        internal Func<TResponse, IList<TItem>> Items { get; }
        internal Func<TResponse, string> Next { get; }
        internal string FirstToken { get; }
        internal RequestOptions Options { get; }

        /// <summary>One page, fetched with <paramref name="token"/>.</summary>
        internal async Task<Page<TItem>> FetchAsync(string token, CancellationToken cancellationToken)
        {
            var response = await Pipeline.SendAsync<TResponse>(Request(token), Options, cancellationToken).ConfigureAwait(false);
            var next = Next(response);
            if (!string.IsNullOrEmpty(next) && next == token)
            {
                throw new InvalidOperationException("The server returned page token \"" + next + "\" again.");
            }
            var items = Items(response) ?? new List<TItem>();
            return Page<TItem>.FromValues(items.ToList(), next, response.GetRawResponse());
        }
    }

    /// <summary>The blocking listing of a generated list method.</summary>
    internal sealed class PipelinePageable<TItem, TResponse> : Pageable<TItem>
        where TResponse : ConcordResult, new()
    {
        private readonly PagedCall<TItem, TResponse> _call;
        private readonly CancellationToken _cancellation;

        internal PipelinePageable(PagedCall<TItem, TResponse> call, CancellationToken cancellation)
        {
            _call = call;
            _cancellation = cancellation;
        }

        public override IEnumerable<Page<TItem>> AsPages(string continuationToken = null)
        {
            var token = continuationToken ?? _call.FirstToken;
            while (true)
            {
                var page = _call.FetchAsync(token, _cancellation).GetAwaiter().GetResult();
                yield return page;
                if (page.ContinuationToken == null)
                {
                    yield break;
                }
                token = page.ContinuationToken;
            }
        }
    }

    /// <summary>The asynchronous listing of a generated list method.</summary>
    internal sealed class PipelineAsyncPageable<TItem, TResponse> : AsyncPageable<TItem>
        where TResponse : ConcordResult, new()
    {
        private readonly PagedCall<TItem, TResponse> _call;
        private readonly CancellationToken _cancellation;

        internal PipelineAsyncPageable(PagedCall<TItem, TResponse> call, CancellationToken cancellation)
        {
            _call = call;
            _cancellation = cancellation;
        }

        public override AsyncCursor<Page<TItem>> AsPages(string continuationToken = null, CancellationToken cancellationToken = default(CancellationToken))
        {
            var token = cancellationToken.CanBeCanceled ? cancellationToken : _cancellation;
            return new PageCursor(_call, continuationToken ?? _call.FirstToken, token);
        }

        private sealed class PageCursor : AsyncCursor<Page<TItem>>
        {
            private readonly PagedCall<TItem, TResponse> _call;
            private readonly CancellationToken _cancellation;
            private string _token;
            private bool _done;
            private Page<TItem> _current;

            internal PageCursor(PagedCall<TItem, TResponse> call, string token, CancellationToken cancellation)
            {
                _call = call;
                _token = token;
                _cancellation = cancellation;
            }

            public override Page<TItem> Current => _current;

            public override async Task<bool> MoveNextAsync()
            {
                if (_done)
                {
                    return false;
                }
                _current = await _call.FetchAsync(_token, _cancellation).ConfigureAwait(false);
                _token = _current.ContinuationToken;
                _done = _token == null;
                return true;
            }

            public override void Dispose()
            {
                _done = true;
            }
        }
    }
}
