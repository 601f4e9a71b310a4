using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;

namespace Concord
{
    /// <summary>A client's options resolved against the environment: explicit values win.</summary>
    internal sealed class ClientSettings
    {
        internal string EndpointText { get; private set; }
        internal string ApiKey { get; private set; }
        internal string BearerToken { get; private set; }
        internal TimeSpan Timeout { get; private set; }
        internal int MaxRetries { get; private set; }
        internal TimeSpan RetryDelay { get; private set; }
        internal TimeSpan MaxRetryDelay { get; private set; }
        internal Dictionary<string, string> Headers { get; private set; }
        internal HttpClient HttpClient { get; private set; }
        internal Action<ConcordLogLevel, string> Logger { get; private set; }
        internal string UserAgent { get; private set; }

        /// <summary>The settings of <paramref name="options"/>, with the environment filling what they leave unset.</summary>
        internal static ClientSettings Resolve(ConcordClientOptions options, string sdkVersion)
        {
            if (options.MaxRetries < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(options), "MaxRetries must not be negative.");
            }
            var endpoint = options.Endpoint ?? EndpointFromEnvironment();
            if (!endpoint.IsAbsoluteUri || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
            {
                throw new ArgumentException("The endpoint must be an absolute http or https URL: " + endpoint, nameof(options));
            }
            bool explicitCredential = !string.IsNullOrEmpty(options.ApiKey) || !string.IsNullOrEmpty(options.BearerToken);
            var settings = new ClientSettings
            {
                EndpointText = endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/'),
                ApiKey = explicitCredential ? options.ApiKey : Environment.GetEnvironmentVariable(ConcordClientOptions.ApiKeyVariable),
                BearerToken = explicitCredential ? options.BearerToken : Environment.GetEnvironmentVariable(ConcordClientOptions.BearerTokenVariable),
                Timeout = options.Timeout,
                MaxRetries = options.MaxRetries,
                RetryDelay = options.RetryDelay,
                MaxRetryDelay = options.MaxRetryDelay,
                Headers = new Dictionary<string, string>(options.DefaultHeaders, StringComparer.OrdinalIgnoreCase),
                HttpClient = options.HttpClient,
                Logger = options.Logger,
            };
            var agent = "concord-csharp/" + sdkVersion + " (" + RuntimeInformation.FrameworkDescription.Trim() + "; " + RuntimeInformation.OSDescription.Trim() + ")";
            settings.UserAgent = string.IsNullOrEmpty(options.ApplicationId) ? agent : options.ApplicationId + " " + agent;
            return settings;
        }

        private static Uri EndpointFromEnvironment()
        {
            var text = Environment.GetEnvironmentVariable(ConcordClientOptions.EndpointVariable);
            if (string.IsNullOrEmpty(text))
            {
                return ConcordClientOptions.DefaultEndpoint;
            }
            Uri endpoint;
            if (!Uri.TryCreate(text, UriKind.Absolute, out endpoint))
            {
                throw new ArgumentException(ConcordClientOptions.EndpointVariable + " is not an absolute URL: " + text);
            }
            return endpoint;
        }
    }

    /// <summary>What one call sends besides its request: timeout, retries, Idempotency-Key, credentials and headers.</summary>
    internal sealed class CallSettings
    {
        private ClientSettings _client;
        private IDictionary<string, string> _headers;
        private string _traceparent;
        private string _lastEventId;

        internal TimeSpan Timeout { get; private set; }
        internal int MaxRetries { get; private set; }
        internal bool Idempotent { get; private set; }
        internal string IdempotencyKey { get; private set; }

        /// <summary>The settings of one call: the request options win over the client's; a key is made for calls that need one.</summary>
        internal static CallSettings Of(ApiRequest request, RequestOptions options, ClientSettings client)
        {
            var key = options == null ? null : options.IdempotencyKey;
            if (!request.Idempotent && string.IsNullOrEmpty(key))
            {
                key = Guid.NewGuid().ToString();
            }
            int retries = options != null && options.MaxRetries.HasValue ? options.MaxRetries.Value : client.MaxRetries;
            return new CallSettings
            {
                _client = client,
                _headers = options == null ? null : options.Headers,
                _traceparent = options == null ? null : options.Traceparent,
                Timeout = options != null && options.Timeout.HasValue ? options.Timeout.Value : client.Timeout,
                MaxRetries = Math.Max(0, retries),
                Idempotent = request.Idempotent,
                IdempotencyKey = key,
            };
        }

        /// <summary>These settings for reopening a broken stream: one attempt (the stream counts them) that sends Last-Event-ID.</summary>
        internal CallSettings Resuming(string lastEventId)
        {
            var resuming = (CallSettings)MemberwiseClone();
            resuming.MaxRetries = 0;
            resuming._lastEventId = lastEventId;
            return resuming;
        }

        /// <summary>A request message of this call.</summary>
        internal HttpRequestMessage BuildMessage(HttpMethod method, Uri url, string body, bool stream)
        {
            var message = new HttpRequestMessage(method, url);
            var headers = message.Headers;
            headers.TryAddWithoutValidation("User-Agent", _client.UserAgent);
            headers.Accept.Add(new MediaTypeWithQualityHeaderValue(stream ? "text/event-stream" : "application/json"));
            if (!string.IsNullOrEmpty(_client.BearerToken))
            {
                headers.TryAddWithoutValidation("Authorization", "Bearer " + _client.BearerToken);
            }
            else if (!string.IsNullOrEmpty(_client.ApiKey))
            {
                headers.TryAddWithoutValidation("X-API-Key", _client.ApiKey);
            }
            if (!string.IsNullOrEmpty(IdempotencyKey))
            {
                headers.TryAddWithoutValidation("Idempotency-Key", IdempotencyKey);
            }
            if (!string.IsNullOrEmpty(_traceparent))
            {
                headers.TryAddWithoutValidation("traceparent", _traceparent);
            }
            SetHeaders(headers, _client.Headers);
            SetHeaders(headers, _headers);
            if (_lastEventId != null)
            {
                headers.Remove("Last-Event-ID");
                headers.TryAddWithoutValidation("Last-Event-ID", _lastEventId);
            }
            if (body != null)
            {
                message.Content = new StringContent(body, new UTF8Encoding(false), "application/json");
            }
            return message;
        }

        private static void SetHeaders(HttpRequestHeaders target, IDictionary<string, string> headers)
        {
            if (headers == null)
            {
                return;
            }
            foreach (var header in headers)
            {
                target.Remove(header.Key);
                target.TryAddWithoutValidation(header.Key, header.Value);
            }
        }
    }
}
