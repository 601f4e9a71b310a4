// Concord conformance adapter for the C# SDK (hand-written loop; the op table is AdapterOps.cs).
//
// Protocol (docs/conformance.md): one JSON object a line on stdin, {"type":"call",...} or
// {"type":"shutdown"}; one answer a line on stdout; logs on stderr. Every op goes through the SDK's
// public API only: a call's per-call options become the SDK's RequestOptions, and cancel_after_ms
// cancels the call's CancellationToken that long after it starts. Set CONCORD_CONFORMANCE_DEBUG=1 to
// log every SDK request (credentials redacted).
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Concord.Conformance
{
    /// <summary>One op of the table: the SDK call of an RPC or helper, with the call's per-call options and token.</summary>
    internal delegate Task<JToken> OpCall(ConcordClient client, JObject input, StreamSpec spec, RequestOptions options, CancellationToken cancellationToken);

    /// <summary>What to collect of a server stream: <c>take</c> messages, or what came within <c>timeout_ms</c>.</summary>
    internal sealed class StreamSpec
    {
        internal int Take { get; set; } = 1;

        internal int TimeoutMs { get; set; } = 5000;

        /// <summary>Announces that the stream is open (the adapter's stream_open notice).</summary>
        internal Action Opened { get; set; } = () => { };
    }

    /// <summary>Reads a call's contract JSON into path arguments and SDK params.</summary>
    internal static class Input
    {
        /// <summary>A path parameter as text.</summary>
        internal static string Path(JObject input, string name)
        {
            var value = input[name];
            if (value == null || value.Type == JTokenType.Null)
            {
                return "";
            }
            return value.Type == JTokenType.String ? (string)value : value.ToString(Formatting.None);
        }

        /// <summary>The params object of the request's other fields.</summary>
        internal static T Params<T>(JObject input, params string[] pathFields)
        {
            var rest = (JObject)input.DeepClone();
            foreach (var name in pathFields)
            {
                rest.Remove(name);
            }
            return ConcordJson.Deserialize<T>(rest.ToString(Formatting.None));
        }
    }

    /// <summary>Writes SDK results as contract JSON.</summary>
    internal static class Output
    {
        /// <summary>The contract JSON of a model.</summary>
        internal static JToken Of(object model)
        {
            return model == null ? new JObject() : JToken.FromObject(model, ConcordJson.CreateSerializer());
        }

        /// <summary>The first page as the list RPC's response: its items and next page token.</summary>
        internal static async Task<JToken> FirstPageAsync<T>(AsyncCursor<Page<T>> pages, string itemsField, string nextField)
        {
            using (pages)
            {
                var result = new JObject();
                if (!await pages.MoveNextAsync().ConfigureAwait(false))
                {
                    return result;
                }
                result[itemsField] = new JArray(pages.Current.Values.Select(value => Of(value)));
                result[nextField] = pages.Current.ContinuationToken ?? "";
                return result;
            }
        }

        /// <summary>Up to spec.Take messages of a stream; fewer when its timeout cancels the call.</summary>
        internal static async Task<JToken> CollectAsync<T>(ServerStream<T> stream, StreamSpec spec)
        {
            spec.Opened(); // the SDK opened the stream eagerly: the server accepted the subscription
            var messages = new JArray();
            try
            {
                while (messages.Count < Math.Max(1, spec.Take) && await stream.MoveNextAsync().ConfigureAwait(false))
                {
                    messages.Add(Of(stream.Current));
                }
            }
            catch (OperationCanceledException)
            {
            }
            return new JObject { { "messages", messages } };
        }
    }

    /// <summary>The read/answer loop with one SDK client per client name and configuration.</summary>
    internal static class Program
    {
        private static readonly TimeSpan CallTimeout = TimeSpan.FromMinutes(5);
        private static readonly Dictionary<string, ConcordClient> Clients = new Dictionary<string, ConcordClient>();
        private static TextWriter answers;

        private static int Main()
        {
            var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
            answers = TextWriter.Synchronized(new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true });
            Helpers.AddTo(Ops.Table);
            string line;
            while ((line = stdin.ReadLine()) != null)
            {
                if (line.Trim().Length == 0)
                {
                    continue;
                }
                JObject message;
                try
                {
                    message = JObject.Parse(line);
                }
                catch (JsonException e)
                {
                    Write(answers, new JObject { { "id", null }, { "outcome", "adapter_error" }, { "message", "bad input line: " + e.Message } });
                    continue;
                }
                if ((string)message["type"] == "shutdown")
                {
                    break;
                }
                Write(answers, Answer(message));
            }
            foreach (var client in Clients.Values)
            {
                client.Dispose();
            }
            return 0;
        }

        private static void Write(TextWriter stdout, JObject answer)
        {
            stdout.WriteLine(answer.ToString(Formatting.None));
        }

        /// <summary>The answer line of one call.</summary>
        private static JObject Answer(JObject call)
        {
            var id = call["id"];
            try
            {
                return new JObject { { "id", id }, { "outcome", "ok" }, { "result", Run(call) } };
            }
            catch (CrossOriginRedirectException e)
            {
                return ClientError(id, "cross_origin_redirect", e);
            }
            catch (ConcordTimeoutException e)
            {
                return ClientError(id, "timeout", e);
            }
            catch (ConcordConnectionException e)
            {
                return ClientError(id, "connection", e);
            }
            catch (OperationCanceledException e)
            {
                return ClientError(id, "cancelled", e);
            }
            catch (ConcordException e) when (e.Code.ToString() != null)
            {
                return new JObject { { "id", id }, { "outcome", "api_error" }, { "error", Report(e) } };
            }
            catch (Exception e)
            {
                Console.Error.WriteLine("call " + id + " failed: " + e);
                return new JObject { { "id", id }, { "outcome", "adapter_error" }, { "message", e.GetType().Name + ": " + e.Message } };
            }
        }

        private static JToken Run(JObject call)
        {
            var op = (string)call["op"];
            OpCall run;
            if (op == null || !Ops.Table.TryGetValue(op, out run))
            {
                throw new InvalidOperationException("unknown op " + op);
            }
            var input = call["input"] as JObject ?? new JObject();
            var client = ClientOf((string)call["client"] ?? "", call["client_config"] as JObject ?? new JObject());
            var spec = StreamOf(call["stream"] as JObject);
            if (spec != null)
            {
                var notice = new JObject { { "id", call["id"] }, { "notice", "stream_open" } };
                spec.Opened = () => Write(answers, notice);
            }
            var options = call["options"] as JObject ?? new JObject();
            using (var timeout = new CancellationTokenSource(spec != null ? TimeSpan.FromMilliseconds(spec.TimeoutMs) : CallTimeout))
            using (var caller = new CancellationTokenSource())
            using (var both = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, caller.Token))
            {
                if (options["cancel_after_ms"] != null)
                {
                    caller.CancelAfter((int)options["cancel_after_ms"]); // the caller gives up on the call
                }
                try
                {
                    return run(client, input, spec ?? new StreamSpec(), RequestOptionsOf(options), both.Token).GetAwaiter().GetResult();
                }
                catch (OperationCanceledException) when (spec != null && !caller.IsCancellationRequested)
                {
                    return new JObject { { "messages", new JArray() } };
                }
            }
        }

        /// <summary>The protocol's per-call options as the SDK's RequestOptions (cancel_after_ms is the caller's token).</summary>
        private static RequestOptions RequestOptionsOf(JObject options)
        {
            var result = new RequestOptions();
            var headers = options["headers"] as JObject;
            if (headers != null)
            {
                foreach (var header in headers.Properties())
                {
                    result.Headers[header.Name] = (string)header.Value;
                }
            }
            if (options["idempotency_key"] != null)
            {
                result.IdempotencyKey = (string)options["idempotency_key"];
            }
            if (options["timeout_ms"] != null)
            {
                result.Timeout = TimeSpan.FromMilliseconds((int)options["timeout_ms"]);
            }
            if (options["max_retries"] != null)
            {
                result.MaxRetries = (int)options["max_retries"];
            }
            return result;
        }

        private static StreamSpec StreamOf(JObject stream)
        {
            if (stream == null)
            {
                return null;
            }
            var spec = new StreamSpec();
            if (stream["take"] != null)
            {
                spec.Take = (int)stream["take"];
            }
            if (stream["timeout_ms"] != null)
            {
                spec.TimeoutMs = (int)stream["timeout_ms"];
            }
            return spec;
        }

        /// <summary>The SDK client of a named client and its configuration, made once.</summary>
        private static ConcordClient ClientOf(string name, JObject config)
        {
            var key = name + "\n" + config.ToString(Formatting.None);
            ConcordClient client;
            if (Clients.TryGetValue(key, out client))
            {
                return client;
            }
            var options = new ConcordClientOptions
            {
                Endpoint = new Uri((string)config["base_url"]),
                ApiKey = (string)config["api_key"],
                BearerToken = (string)config["bearer_token"],
            };
            if (config["max_retries"] != null && config["max_retries"].Type != JTokenType.Null)
            {
                options.MaxRetries = (int)config["max_retries"];
            }
            if (config["timeout_ms"] != null && (int)config["timeout_ms"] > 0)
            {
                options.Timeout = TimeSpan.FromMilliseconds((int)config["timeout_ms"]);
            }
            var headers = config["headers"] as JObject;
            if (headers != null)
            {
                foreach (var header in headers.Properties())
                {
                    options.DefaultHeaders[header.Name] = (string)header.Value;
                }
            }
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CONCORD_CONFORMANCE_DEBUG")))
            {
                options.Logger = (level, text) => Console.Error.WriteLine(name + " " + level + ": " + text);
            }
            client = new ConcordClient(options);
            Clients[key] = client;
            return client;
        }

        /// <summary>The answer of an SDK error the protocol names by kind: a refused redirect, a call without answer, a timeout, the caller's cancellation.</summary>
        private static JObject ClientError(JToken id, string kind, Exception e)
        {
            var error = new JObject { { "kind", kind }, { "native_type", e.GetType().Name }, { "message", e.Message } };
            return new JObject { { "id", id }, { "outcome", "client_error" }, { "error", error } };
        }

        /// <summary>The protocol's error object of a typed SDK exception.</summary>
        private static JObject Report(ConcordException e)
        {
            var details = new JObject();
            foreach (var pair in e.Details)
            {
                details[pair.Key] = pair.Value.ToToken();
            }
            return new JObject
            {
                { "code", e.Code.ToString() },
                { "native_type", e.GetType().Name },
                { "http_status", e.Status },
                { "request_id", e.RequestId },
                { "message", e.ErrorMessage },
                { "details", details },
            };
        }
    }
}
