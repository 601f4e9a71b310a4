using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;

namespace Concord
{
    /// <summary>Opt-in request logging with credentials redacted; bodies are never logged.</summary>
    internal sealed class RequestLog
    {
        internal const string Redacted = "[REDACTED]";
        private readonly Action<ConcordLogLevel, string> _sink;

        internal RequestLog(Action<ConcordLogLevel, string> sink)
        {
            _sink = sink;
        }

        /// <summary>True when a header carries a credential and its value must not be logged.</summary>
        internal static bool IsSecretHeader(string name)
        {
            var n = name.ToLowerInvariant();
            switch (n)
            {
                case "authorization":
                case "proxy-authorization":
                case "x-api-key":
                case "cookie":
                case "set-cookie":
                    return true;
            }
            return n.Contains("token") || n.Contains("secret") || n.Contains("password") || n.EndsWith("api-key", StringComparison.Ordinal);
        }

        /// <summary>Headers as "Name: value" text, credentials replaced by [REDACTED].</summary>
        internal static string Describe(IEnumerable<KeyValuePair<string, IEnumerable<string>>> headers)
        {
            return string.Join(", ", headers.Select(h => h.Key + ": " + (IsSecretHeader(h.Key) ? Redacted : string.Join(",", h.Value))));
        }

        internal void Request(string operation, HttpRequestMessage request, int attempt)
        {
            if (_sink == null)
            {
                return;
            }
            var headers = request.Content == null ? request.Headers : request.Headers.Concat(request.Content.Headers);
            _sink(ConcordLogLevel.Debug, "concord request " + operation + ": " + request.Method + " " + request.RequestUri + " attempt " + (attempt + 1) + " {" + Describe(headers) + "}");
        }

        internal void Response(string operation, RawResponse response, TimeSpan elapsed)
        {
            if (_sink != null)
            {
                _sink(ConcordLogLevel.Debug, "concord response " + operation + ": " + response.Status + " request_id " + response.RequestId + " in " + (long)elapsed.TotalMilliseconds + " ms");
            }
        }

        internal void Retry(string operation, int attempt, TimeSpan delay, Exception error)
        {
            if (_sink != null)
            {
                _sink(ConcordLogLevel.Information, "concord retry " + operation + ": attempt " + (attempt + 1) + " failed (" + error.Message + "); retrying in " + (long)delay.TotalMilliseconds + " ms");
            }
        }

        internal void Warning(string message)
        {
            if (_sink != null)
            {
                _sink(ConcordLogLevel.Warning, message);
            }
        }
    }
}
