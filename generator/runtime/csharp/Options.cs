using System;
using System.Collections.Generic;
using System.Net.Http;

namespace Concord
{
    /// <summary>Settings of a <see cref="ConcordClient"/>; unset values come from the environment or the defaults.</summary>
    public class ConcordClientOptions
    {
        /// <summary>The environment variable read for <see cref="Endpoint"/>.</summary>
        public const string EndpointVariable = "CONCORD_BASE_URL";

        /// <summary>The environment variable read for <see cref="ApiKey"/>.</summary>
        public const string ApiKeyVariable = "CONCORD_API_KEY";

        /// <summary>The environment variable read for <see cref="BearerToken"/>.</summary>
        public const string BearerTokenVariable = "CONCORD_BEARER_TOKEN";

        /// <summary>The server used when neither <see cref="Endpoint"/> nor CONCORD_BASE_URL is set.</summary>
        public static readonly Uri DefaultEndpoint = new Uri("http://localhost:8080");

        /// <summary>The server's base URL (a path prefix is kept); default CONCORD_BASE_URL, else http://localhost:8080.</summary>
        public Uri Endpoint { get; set; }

        /// <summary>The API key sent as X-API-Key; with neither credential set, CONCORD_API_KEY and CONCORD_BEARER_TOKEN are read.</summary>
        public string ApiKey { get; set; }

        /// <summary>The bearer JWT sent as Authorization; it wins over an API key when both are set.</summary>
        public string BearerToken { get; set; }

        /// <summary>Bound of each attempt of a call (for a stream, until its headers arrive); default 60 seconds.</summary>
        public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

        /// <summary>How many times a failed call is retried (connection errors, 408, 429, 5xx); default 2, 0 disables retries.</summary>
        public int MaxRetries { get; set; } = 2;

        /// <summary>The first delay between retries; it doubles each retry up to <see cref="MaxRetryDelay"/>, less up to 25% jitter.</summary>
        public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

        /// <summary>The longest delay between retries (a server's Retry-After of up to 60 seconds wins).</summary>
        public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(8);

        /// <summary>Headers sent with every request.</summary>
        public IDictionary<string, string> DefaultHeaders { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        /// <summary>The HttpClient to send requests with (proxies, TLS, handlers); the client does not dispose it. Turn off its automatic redirects: the SDK follows them itself and keeps credentials to their origin.</summary>
        public HttpClient HttpClient { get; set; }

        /// <summary>Opt-in logging: Debug per request and response, Information per retry; credentials are redacted and bodies never logged.</summary>
        public Action<ConcordLogLevel, string> Logger { get; set; }

        /// <summary>An application name put in front of the User-Agent header.</summary>
        public string ApplicationId { get; set; }

        /// <summary>Waits between retries (Task.Delay); the runtime's tests replace it to observe the delays.</summary>
        internal System.Func<TimeSpan, System.Threading.CancellationToken, System.Threading.Tasks.Task> RetryWait { get; set; }
    }

    /// <summary>Settings of one call; each unset value falls back to the client's.</summary>
    public class RequestOptions
    {
        /// <summary>Bound of each attempt of this call, instead of <see cref="ConcordClientOptions.Timeout"/>.</summary>
        public TimeSpan? Timeout { get; set; }

        /// <summary>How many times this call is retried, instead of <see cref="ConcordClientOptions.MaxRetries"/>.</summary>
        public int? MaxRetries { get; set; }

        /// <summary>The Idempotency-Key of this call, reused by its retries; calls that are not idempotent get a random one otherwise.</summary>
        public string IdempotencyKey { get; set; }

        /// <summary>Headers of this call; they replace client headers of the same name.</summary>
        public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        /// <summary>The W3C <c>traceparent</c> of the caller's span (e.g. <c>Activity.Current?.Id</c> with the W3C id format), sent so the server's spans join the caller's trace; a <c>traceparent</c> in <see cref="Headers"/> wins.</summary>
        public string Traceparent { get; set; }
    }

    /// <summary>The level of a log message of the SDK.</summary>
    public enum ConcordLogLevel
    {
        /// <summary>Each request and response.</summary>
        Debug,

        /// <summary>Each retry.</summary>
        Information,

        /// <summary>Something went wrong but the SDK carries on.</summary>
        Warning,
    }
}
