using System;
using System.Collections.Generic;
using System.IO;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Concord
{
    /// <summary>
    /// An error answer of the server: its catalogue <see cref="Code"/>, HTTP <see cref="Status"/>, details and
    /// request id. Each catalogue code has its own subclass (LockConflictException, NotFoundException ...).
    /// </summary>
    public class ConcordException : Exception
    {
        /// <summary>An error of the server (public for tests and mocks).</summary>
        public ConcordException(int status, ErrorCode code, string message, string requestId = null, IReadOnlyDictionary<string, JsonValue> details = null, RawResponse response = null, Exception innerException = null)
            : base(Describe(status, code, message, requestId), innerException)
        {
            Status = status;
            Code = code;
            ErrorMessage = message;
            RequestId = requestId;
            Details = details ?? new Dictionary<string, JsonValue>();
            _response = response;
        }

        private readonly RawResponse _response;

        /// <summary>The HTTP status of the answer (for an error inside a stream, the one the catalogue gives its code; 0 without an answer).</summary>
        public int Status { get; }

        /// <summary>The catalogue code, e.g. LOCK_CONFLICT; derived from the status when the body is not a Concord error.</summary>
        public ErrorCode Code { get; }

        /// <summary>The server's explanation, without the code and request id that <see cref="Exception.Message"/> adds.</summary>
        public string ErrorMessage { get; }

        /// <summary>The request id the server logged the call under (null when unknown).</summary>
        public string RequestId { get; }

        /// <summary>Machine-readable facts, e.g. "field" of INVALID_ARGUMENT.</summary>
        public IReadOnlyDictionary<string, JsonValue> Details { get; }

        /// <summary>The server's Retry-After delay, when it gave one.</summary>
        public TimeSpan? RetryAfter
        {
            get
            {
                string value;
                return _response != null && _response.Headers.TryGetValue("Retry-After", out value) ? RetryRules.ParseRetryAfter(value, DateTimeOffset.UtcNow) : null;
            }
        }

        /// <summary>The HTTP answer, headers included (null inside a stream or without an answer).</summary>
        public RawResponse GetRawResponse()
        {
            return _response;
        }

        private static string Describe(int status, ErrorCode code, string message, string requestId)
        {
            if (code.ToString() == null)
            {
                return message;
            }
            var text = code.ToString();
            if (status != 0)
            {
                text += " (HTTP " + status + ")";
            }
            if (!string.IsNullOrEmpty(message))
            {
                text += ": " + message;
            }
            if (!string.IsNullOrEmpty(requestId))
            {
                text += " [request_id " + requestId + "]";
            }
            return text;
        }
    }

    /// <summary>A call that got no answer: the connection failed or broke (Status 0, no Code).</summary>
    public class ConcordConnectionException : ConcordException
    {
        /// <summary>A connection failure of RPC <paramref name="operation"/>.</summary>
        public ConcordConnectionException(string operation, string message, Exception innerException = null)
            : base(0, default(ErrorCode), operation + ": " + message, null, null, null, innerException)
        {
            Operation = operation;
        }

        /// <summary>The RPC that failed, e.g. AcquireLock.</summary>
        public string Operation { get; }
    }

    /// <summary>An attempt that did not finish within its timeout (after the retries, if any).</summary>
    public class ConcordTimeoutException : ConcordConnectionException
    {
        /// <summary>A timeout of RPC <paramref name="operation"/> after <paramref name="timeout"/>.</summary>
        public ConcordTimeoutException(string operation, TimeSpan timeout, Exception innerException = null)
            : base(operation, "timed out after " + timeout, new TimeoutException("The attempt timed out after " + timeout + ".", innerException))
        {
            Timeout = timeout;
        }

        /// <summary>The attempt timeout that passed.</summary>
        public TimeSpan Timeout { get; }
    }

    /// <summary>A redirect to another origin than the endpoint's, which the client does not follow (credentials stay with their origin).</summary>
    public class CrossOriginRedirectException : ConcordException
    {
        /// <summary>A refused redirect of RPC <paramref name="operation"/> to <paramref name="location"/>.</summary>
        public CrossOriginRedirectException(string operation, int status, Uri location)
            : base(status, default(ErrorCode), operation + ": HTTP " + status + " redirect to another origin not followed: " + location)
        {
            Location = location;
        }

        /// <summary>The redirect's target.</summary>
        public Uri Location { get; }
    }

    /// <summary>Turns error answers (HTTP or a stream's error event) into the exception of their code.</summary>
    internal static class ErrorMapper
    {
        /// <summary>The exception of an HTTP error answer.</summary>
        internal static ConcordException FromResponse(RawResponse response)
        {
            var body = ParseBody(response.Content);
            if (body == null)
            {
                var code = ErrorCode.FromHttpStatus(response.Status);
                var message = ("HTTP " + response.Status + ": " + Snippet(response.Content)).Trim();
                return ErrorFactory.Create(response.Status, code, message, response.RequestId, null, response);
            }
            return ErrorFactory.Create(response.Status, body.Item1, body.Item2, body.Item4 ?? response.RequestId, body.Item3, response);
        }

        /// <summary>The exception of a stream's `event: error` frame.</summary>
        internal static ConcordException FromEvent(string operation, string data)
        {
            var body = ParseBody(data);
            if (body == null)
            {
                return new ConcordConnectionException(operation, "unreadable error event: " + Snippet(data));
            }
            return ErrorFactory.Create(body.Item1.HttpStatus, body.Item1, body.Item2, body.Item4, body.Item3, null);
        }

        /// <summary>(code, message, details, request id) of a Concord error body; null when it is not one.</summary>
        private static Tuple<ErrorCode, string, IReadOnlyDictionary<string, JsonValue>, string> ParseBody(string text)
        {
            if (string.IsNullOrEmpty(text))
            {
                return null;
            }
            JObject body;
            try
            {
                using (var reader = ConcordJson.CreateReader(new StringReader(text)))
                {
                    body = JToken.ReadFrom(reader) as JObject;
                }
            }
            catch (JsonException)
            {
                return null;
            }
            var code = body == null ? null : body["code"] as JValue;
            if (code == null || code.Type != JTokenType.String || string.IsNullOrEmpty((string)code))
            {
                return null;
            }
            var details = new Dictionary<string, JsonValue>();
            var detailsObject = body["details"] as JObject;
            if (detailsObject != null)
            {
                foreach (var property in detailsObject.Properties())
                {
                    details[property.Name] = JsonValue.FromToken(property.Value);
                }
            }
            return Tuple.Create(new ErrorCode((string)code), StringOf(body["message"]), (IReadOnlyDictionary<string, JsonValue>)details, StringOf(body["request_id"]));
        }

        private static string StringOf(JToken token)
        {
            return token != null && token.Type == JTokenType.String ? (string)token : null;
        }

        private static string Snippet(string text)
        {
            const int limit = 200;
            text = (text ?? "").Trim();
            return text.Length > limit ? text.Substring(0, limit) + "…" : text;
        }
    }
}
