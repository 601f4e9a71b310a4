using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace Concord
{
    /// <summary>
    /// Sends the calls of a client: builds requests, authenticates, follows redirects (credentials stay with
    /// their origin), retries with backoff, bounds attempts by the timeout and maps error answers to exceptions.
    /// </summary>
    internal sealed partial class HttpPipeline : IDisposable
    {
        private const int MaxRedirects = 5;
        private readonly ClientSettings _settings;
        private readonly HttpClient _http;
        private readonly bool _ownsHttp;
        private readonly RequestLog _log;
        private readonly Random _random = new Random();

        internal HttpPipeline(ConcordClientOptions options, string sdkVersion)
        {
            _settings = ClientSettings.Resolve(options ?? new ConcordClientOptions(), sdkVersion);
            _log = new RequestLog(_settings.Logger);
            _http = _settings.HttpClient;
            if (_http == null)
            {
                _http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
                _ownsHttp = true;
            }
            if (options != null && options.RetryWait != null)
            {
                Delay = options.RetryWait;
            }
        }

        /// <summary>The resolved settings (endpoint, credentials, retries).</summary>
        internal ClientSettings Settings => _settings;

        /// <summary>The client's opt-in log.</summary>
        internal RequestLog Log => _log;

        /// <summary>Waits between retries.</summary>
        private Func<TimeSpan, CancellationToken, Task> Delay { get; } = (delay, token) => Task.Delay(delay, token);

        /// <summary>Runs a unary call and decodes its answer.</summary>
        internal async Task<T> SendAsync<T>(ApiRequest request, RequestOptions options, CancellationToken cancellationToken)
            where T : ConcordResult, new()
        {
            var exchange = await ExecuteAsync(request, options, false, cancellationToken).ConfigureAwait(false);
            T result;
            try
            {
                var content = exchange.Raw.Content;
                result = string.IsNullOrWhiteSpace(content) ? new T() : ConcordJson.Deserialize<T>(content);
            }
            catch (FormatException e)
            {
                throw new ConcordException(exchange.Raw.Status, default(ErrorCode), request.Operation + ": the answer is not the contract's JSON: " + e.Message, exchange.Raw.RequestId, null, exchange.Raw, e);
            }
            result.SetRawResponse(exchange.Raw);
            return result;
        }

        /// <summary>The blocking twin of <see cref="SendAsync{T}"/>.</summary>
        internal T Send<T>(ApiRequest request, RequestOptions options, CancellationToken cancellationToken)
            where T : ConcordResult, new()
        {
            return SendAsync<T>(request, options, cancellationToken).GetAwaiter().GetResult();
        }

        /// <summary>Opens a server stream (retrying like a unary call until the server accepts it); a broken connection is reopened with Last-Event-ID.</summary>
        internal async Task<ServerStream<T>> OpenStreamAsync<T>(ApiRequest request, RequestOptions options, CancellationToken cancellationToken)
        {
            var call = CallSettings.Of(request, options, _settings);
            var exchange = await ExecuteAsync(request, call, true, cancellationToken).ConfigureAwait(false);
            try
            {
                var body = await exchange.Message.Content.ReadAsStreamAsync().ConfigureAwait(false);
                return new SseStream<T>(request.Operation, exchange, body, new StreamReopener(this, request, call), cancellationToken);
            }
            catch (Exception)
            {
                exchange.Dispose();
                throw;
            }
        }

        /// <summary>The blocking twin of <see cref="OpenStreamAsync{T}"/>.</summary>
        internal ServerStream<T> OpenStream<T>(ApiRequest request, RequestOptions options, CancellationToken cancellationToken)
        {
            return OpenStreamAsync<T>(request, options, cancellationToken).GetAwaiter().GetResult();
        }

        /// <summary>Sends until an answer below 300, a final failure, or the end of the retries.</summary>
        private Task<Exchange> ExecuteAsync(ApiRequest request, RequestOptions options, bool stream, CancellationToken cancellationToken)
        {
            return ExecuteAsync(request, CallSettings.Of(request, options, _settings), stream, cancellationToken);
        }

        /// <summary>Sends a call with its settings until an answer below 300, a final failure, or the end of the retries.</summary>
        internal async Task<Exchange> ExecuteAsync(ApiRequest request, CallSettings call, bool stream, CancellationToken cancellationToken)
        {
            var payload = request.Body == null ? null : ConcordJson.Serialize(request.Body);
            for (int attempt = 0; ; attempt++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                ConcordException error;
                try
                {
                    var exchange = await AttemptAsync(request, call, payload, stream, attempt, cancellationToken).ConfigureAwait(false);
                    if (exchange.Raw.Status < 300)
                    {
                        return exchange;
                    }
                    error = ErrorMapper.FromResponse(exchange.Raw);
                }
                catch (ConcordConnectionException e)
                {
                    error = e;
                }
                var delay = RetryDelay(call, attempt, error, cancellationToken);
                if (!delay.HasValue)
                {
                    throw error;
                }
                _log.Retry(request.Operation, attempt, delay.Value, error);
                await Delay(delay.Value, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>The delay before the next try, or null when the failure is final.</summary>
        internal TimeSpan? RetryDelay(CallSettings call, int attempt, ConcordException error, CancellationToken cancellationToken)
        {
            if (attempt >= call.MaxRetries || cancellationToken.IsCancellationRequested)
            {
                return null;
            }
            if (!call.Idempotent && string.IsNullOrEmpty(call.IdempotencyKey))
            {
                return null;
            }
            if (!(error is ConcordConnectionException))
            {
                if (!RetryRules.IsRetryableStatus(error.Status))
                {
                    return null;
                }
                var after = error.RetryAfter;
                if (after.HasValue)
                {
                    return after;
                }
            }
            double random;
            lock (_random)
            {
                random = _random.NextDouble();
            }
            return RetryRules.Backoff(attempt, _settings.RetryDelay, _settings.MaxRetryDelay, random);
        }

        /// <summary>Waits between retries (the client's RetryWait when it set one).</summary>
        internal Task WaitAsync(TimeSpan delay, CancellationToken cancellationToken)
        {
            return Delay(delay, cancellationToken);
        }

        /// <summary>One attempt, bounded by the call's timeout (for a stream, until its headers).</summary>
        private async Task<Exchange> AttemptAsync(ApiRequest request, CallSettings call, string payload, bool stream, int attempt, CancellationToken cancellationToken)
        {
            var timeout = new CancellationTokenSource();
            if (call.Timeout > TimeSpan.Zero && call.Timeout != System.Threading.Timeout.InfiniteTimeSpan)
            {
                timeout.CancelAfter(call.Timeout);
            }
            var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            HttpResponseMessage message = null;
            var clock = Stopwatch.StartNew();
            try
            {
                message = await SendFollowingRedirectsAsync(request, call, payload, stream, attempt, linked.Token).ConfigureAwait(false);
                string content = null;
                if (!stream || (int)message.StatusCode >= 300)
                {
                    content = message.Content == null ? "" : await message.Content.ReadAsStringAsync().ConfigureAwait(false);
                }
                var raw = RawResponse.From(message, content);
                _log.Response(request.Operation, raw, clock.Elapsed);
                if (!stream || raw.Status >= 300)
                {
                    return new Exchange(raw, null, null, null);
                }
                timeout.CancelAfter(System.Threading.Timeout.Infinite);
                var open = new Exchange(raw, message, linked, timeout);
                message = null;
                linked = null;
                timeout = null;
                return open;
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ConcordTimeoutException(request.Operation, call.Timeout, e);
            }
            catch (Exception e) when (e is HttpRequestException || e is IOException || e is WebException)
            {
                throw new ConcordConnectionException(request.Operation, e.Message, e);
            }
            finally
            {
                if (message != null)
                {
                    message.Dispose();
                }
                if (linked != null)
                {
                    linked.Dispose();
                }
                if (timeout != null)
                {
                    timeout.Dispose();
                }
            }
        }

        /// <summary>Sends the request, following redirects to the same origin; a redirect to another origin fails (docs/sdk-helpers.md, 4).</summary>
        private async Task<HttpResponseMessage> SendFollowingRedirectsAsync(ApiRequest request, CallSettings call, string payload, bool stream, int attempt, CancellationToken token)
        {
            var url = new Uri(_settings.EndpointText + request.Path + request.Query);
            var method = new HttpMethod(request.Method);
            var body = payload;
            var completion = stream ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead;
            for (int hop = 0; ; hop++)
            {
                using (var message = call.BuildMessage(method, url, body, stream))
                {
                    _log.Request(request.Operation, message, attempt);
                    var response = await _http.SendAsync(message, completion, token).ConfigureAwait(false);
                    int status = (int)response.StatusCode;
                    var location = response.Headers.Location;
                    if (status < 300 || status > 308 || status == 304 || location == null || hop >= MaxRedirects)
                    {
                        return response;
                    }
                    response.Dispose();
                    var next = location.IsAbsoluteUri ? location : new Uri(url, location);
                    if (!SameOrigin(url, next))
                    {
                        throw new CrossOriginRedirectException(request.Operation, status, next);
                    }
                    if (status == 303 || ((status == 301 || status == 302) && method != HttpMethod.Get && method != HttpMethod.Head))
                    {
                        method = HttpMethod.Get;
                        body = null;
                    }
                    url = next;
                }
            }
        }

        private static bool SameOrigin(Uri a, Uri b)
        {
            return string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
                && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase)
                && a.Port == b.Port;
        }

        /// <summary>Disposes the HttpClient when the pipeline made it.</summary>
        public void Dispose()
        {
            if (_ownsHttp)
            {
                _http.Dispose();
            }
        }
    }

    /// <summary>Reopens a broken SSE stream: one attempt at a time with Last-Event-ID, under the call's retry policy.</summary>
    internal sealed class StreamReopener
    {
        private readonly HttpPipeline _pipeline;
        private readonly ApiRequest _request;
        private readonly CallSettings _call;

        internal StreamReopener(HttpPipeline pipeline, ApiRequest request, CallSettings call)
        {
            _pipeline = pipeline;
            _request = request;
            _call = call;
        }

        /// <summary>The most consecutive failed reopen attempts (the call's MaxRetries, else the client's).</summary>
        internal int MaxRetries => _call.MaxRetries;

        /// <summary>The wait before reopen attempt attempt+1 after a retryable failure (Retry-After, else the backoff), or null when none is left.</summary>
        internal TimeSpan? Delay(int attempt, ConcordException error)
        {
            return _pipeline.RetryDelay(_call, attempt, error, CancellationToken.None);
        }

        /// <summary>Waits before an attempt (the client's RetryWait when it set one); cancelled by the token.</summary>
        internal Task WaitAsync(int attempt, TimeSpan delay, ConcordException error, CancellationToken token)
        {
            _pipeline.Log.Retry(_request.Operation, attempt, delay, error);
            return _pipeline.WaitAsync(delay, token);
        }

        /// <summary>One attempt to reopen the request with Last-Event-ID, bounded by the call's timeout.</summary>
        internal Task<Exchange> AttemptAsync(string lastEventId, CancellationToken token)
        {
            return _pipeline.ExecuteAsync(_request, _call.Resuming(lastEventId), true, token);
        }
    }

    /// <summary>A received answer: its raw form and, for an open stream, the live message and its cancellation sources.</summary>
    internal sealed class Exchange : IDisposable
    {
        private readonly IDisposable[] _owned;

        internal Exchange(RawResponse raw, HttpResponseMessage message, IDisposable linked, IDisposable timeout)
        {
            Raw = raw;
            Message = message;
            _owned = new IDisposable[] { message, linked, timeout };
        }

        internal RawResponse Raw { get; }

        internal HttpResponseMessage Message { get; }

        public void Dispose()
        {
            foreach (var item in _owned)
            {
                if (item != null)
                {
                    item.Dispose();
                }
            }
        }
    }
}
