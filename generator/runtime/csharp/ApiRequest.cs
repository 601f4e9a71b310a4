using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Concord
{
    /// <summary>One REST call as a generated method describes it: RPC, verb, path, query and body.</summary>
    internal sealed class ApiRequest
    {
        /// <summary>A request of RPC <paramref name="operation"/> sent as <paramref name="method"/> to <paramref name="path"/>.</summary>
        internal ApiRequest(string operation, string method, string path, bool idempotent)
        {
            Operation = operation;
            Method = method;
            Path = path;
            Idempotent = idempotent;
        }

        /// <summary>The contract's RPC name, e.g. AcquireLock (for logs and errors).</summary>
        internal string Operation { get; }

        /// <summary>The HTTP verb.</summary>
        internal string Method { get; }

        /// <summary>The escaped path, e.g. /v1/locks/jobs:acquire.</summary>
        internal string Path { get; }

        /// <summary>False for calls retried only thanks to their Idempotency-Key.</summary>
        internal bool Idempotent { get; }

        /// <summary>The query string's parameters.</summary>
        internal QueryString Query { get; } = new QueryString();

        /// <summary>The JSON body (a params object), or null for none.</summary>
        internal object Body { get; set; }

        /// <summary>Escapes one path segment.</summary>
        internal static string Escape(string segment)
        {
            return Uri.EscapeDataString(segment);
        }
    }

    /// <summary>Query parameters in the contract's text forms; zero values of fields without presence are left out.</summary>
    internal sealed class QueryString
    {
        private readonly List<KeyValuePair<string, string>> _pairs = new List<KeyValuePair<string, string>>();

        /// <summary>Adds a non-empty string.</summary>
        internal void Add(string name, string value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                _pairs.Add(new KeyValuePair<string, string>(name, value));
            }
        }

        /// <summary>Adds a non-zero number.</summary>
        internal void Add(string name, long value)
        {
            if (value != 0)
            {
                Add(name, value.ToString(CultureInfo.InvariantCulture));
            }
        }

        /// <summary>Adds an optional number when it is set, zero included.</summary>
        internal void Add(string name, long? value)
        {
            if (value.HasValue)
            {
                _pairs.Add(new KeyValuePair<string, string>(name, value.Value.ToString(CultureInfo.InvariantCulture)));
            }
        }

        /// <summary>Adds true; false is the default and left out.</summary>
        internal void Add(string name, bool value)
        {
            if (value)
            {
                Add(name, "true");
            }
        }

        /// <summary>Adds a Duration when it is set.</summary>
        internal void Add(string name, TimeSpan? value)
        {
            if (value.HasValue)
            {
                Add(name, Wire.FormatDuration(value.Value));
            }
        }

        /// <summary>Adds a Timestamp when it is set.</summary>
        internal void Add(string name, DateTimeOffset? value)
        {
            if (value.HasValue)
            {
                Add(name, Wire.FormatTimestamp(value.Value));
            }
        }

        /// <summary>Adds every value of a repeated field (the name repeats).</summary>
        internal void Add<T>(string name, IEnumerable<T> values)
        {
            if (values == null)
            {
                return;
            }
            foreach (var value in values)
            {
                Add(name, Convert.ToString(value, CultureInfo.InvariantCulture));
            }
        }

        /// <summary>The encoded query, with its leading '?', or "" when empty.</summary>
        public override string ToString()
        {
            if (_pairs.Count == 0)
            {
                return "";
            }
            var text = new StringBuilder();
            foreach (var pair in _pairs)
            {
                text.Append(text.Length == 0 ? '?' : '&');
                text.Append(Uri.EscapeDataString(pair.Key)).Append('=').Append(Uri.EscapeDataString(pair.Value));
            }
            return text.ToString();
        }
    }
}
