using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;

namespace Concord
{
    /// <summary>The HTTP answer behind a result or an error: status, headers, request id and body text.</summary>
    public class RawResponse
    {
        /// <summary>A raw response (public for tests and mocks).</summary>
        public RawResponse(int status, IReadOnlyDictionary<string, string> headers, string content)
        {
            Status = status;
            Headers = headers ?? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            Content = content;
        }

        /// <summary>The HTTP status code.</summary>
        public int Status { get; }

        /// <summary>The response headers by case-insensitive name (repeated headers joined by ", ").</summary>
        public IReadOnlyDictionary<string, string> Headers { get; }

        /// <summary>The body text; null for a stream, whose body is read as it arrives.</summary>
        public string Content { get; }

        /// <summary>The server's X-Request-ID of the request (null when absent).</summary>
        public string RequestId
        {
            get
            {
                string value;
                return Headers.TryGetValue("X-Request-ID", out value) ? value : null;
            }
        }

        /// <summary>True when the server replayed the stored answer of an earlier call with the same Idempotency-Key.</summary>
        public bool IsIdempotentReplay
        {
            get
            {
                string value;
                return Headers.TryGetValue("Idempotent-Replayed", out value) && string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);
            }
        }

        internal static RawResponse From(HttpResponseMessage message, string content)
        {
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            var all = message.Headers.AsEnumerable();
            if (message.Content != null)
            {
                all = all.Concat(message.Content.Headers);
            }
            foreach (var header in all)
            {
                headers[header.Key] = string.Join(", ", header.Value);
            }
            return new RawResponse((int)message.StatusCode, headers, content);
        }
    }

    /// <summary>The base of every call's result: the decoded model plus its HTTP answer.</summary>
    public abstract class ConcordResult
    {
        private RawResponse _rawResponse;

        /// <summary>The HTTP answer this result came from (null for a result built by hand).</summary>
        public RawResponse GetRawResponse()
        {
            return _rawResponse;
        }

        internal void SetRawResponse(RawResponse response)
        {
            _rawResponse = response;
        }
    }
}
