// Test doubles of the runtime core's tests: an HttpMessageHandler that answers from a script and
// records every request, and a client factory that records the delays between retries.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Concord;

namespace Concord.Tests
{
    /// <summary>A request as the fake server saw it.</summary>
    public sealed class SeenRequest
    {
        public string Method;
        public Uri Url;
        public Dictionary<string, string> Headers;
        public string Body;

        public string Header(string name)
        {
            string value;
            return Headers.TryGetValue(name, out value) ? value : null;
        }
    }

    /// <summary>Answers requests in order from a queue of responders and records them.</summary>
    public sealed class FakeHandler : HttpMessageHandler
    {
        private readonly Queue<Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>> _script =
            new Queue<Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>>();

        public List<SeenRequest> Requests { get; } = new List<SeenRequest>();

        public FakeHandler Reply(int status, string body, params string[] headers)
        {
            _script.Enqueue((request, token) => Task.FromResult(Response(status, body, "application/json", headers)));
            return this;
        }

        public FakeHandler ReplyEvents(string body)
        {
            _script.Enqueue((request, token) => Task.FromResult(Response(200, body, "text/event-stream")));
            return this;
        }

        public FakeHandler Fail(Exception error)
        {
            _script.Enqueue((request, token) => { throw error; });
            return this;
        }

        public FakeHandler Hang()
        {
            _script.Enqueue(async (request, token) =>
            {
                await Task.Delay(Timeout.Infinite, token).ConfigureAwait(false);
                throw new InvalidOperationException("unreachable");
            });
            return this;
        }

        public FakeHandler Then(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> responder)
        {
            _script.Enqueue(responder);
            return this;
        }

        public static HttpResponseMessage Response(int status, string body, string mediaType, params string[] headers)
        {
            var message = new HttpResponseMessage((HttpStatusCode)status) { Content = new StringContent(body ?? "", Encoding.UTF8, mediaType) };
            for (int i = 0; i + 1 < headers.Length; i += 2)
            {
                message.Headers.TryAddWithoutValidation(headers[i], headers[i + 1]);
            }
            return message;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var seen = new SeenRequest
            {
                Method = request.Method.Method,
                Url = request.RequestUri,
                Headers = request.Headers.Concat(request.Content == null ? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>() : request.Content.Headers)
                    .ToDictionary(h => h.Key, h => string.Join(h.Key == "User-Agent" ? " " : ", ", h.Value), StringComparer.OrdinalIgnoreCase),
                Body = request.Content == null ? null : await request.Content.ReadAsStringAsync().ConfigureAwait(false),
            };
            Requests.Add(seen);
            if (_script.Count == 0)
            {
                throw new InvalidOperationException("the fake server has no answer left for " + request.RequestUri);
            }
            return await _script.Dequeue()(request, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A client on a fake server, with the delays between retries recorded instead of waited.</summary>
    public sealed class FakeClient : IDisposable
    {
        public FakeClient(Action<ConcordClientOptions> configure = null)
        {
            Handler = new FakeHandler();
            Options = new ConcordClientOptions
            {
                Endpoint = new Uri("http://concord.test/prefix"),
                ApiKey = "secret-key",
                HttpClient = new HttpClient(Handler),
                RetryWait = (delay, token) =>
                {
                    Delays.Add(delay);
                    return Task.FromResult(0);
                },
            };
            if (configure != null)
            {
                configure(Options);
            }
            Client = new ConcordClient(Options);
        }

        public FakeHandler Handler { get; }

        public ConcordClientOptions Options { get; }

        public ConcordClient Client { get; }

        public List<TimeSpan> Delays { get; } = new List<TimeSpan>();

        public void Dispose()
        {
            Client.Dispose();
        }
    }
}
