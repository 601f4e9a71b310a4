// The helper ops of the C# conformance adapter (docs/conformance.md, "Helper operations"):
// helper.HoldLock runs a block inside `using (var held = await client.Locks.HoldAsync(...))`,
// helper.RunWorker runs client.Sagas.Worker(...) with a handler scripted by the task's input.
// Only the SDK's public API is used.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace Concord.Conformance
{
    /// <summary>The error a block throws when the case says <c>end: raise</c>.</summary>
    internal sealed class BodyError : Exception
    {
        internal BodyError()
            : base("the block failed")
        {
        }
    }

    /// <summary>helper.HoldLock and helper.RunWorker.</summary>
    internal static class Helpers
    {
        /// <summary>Adds the helper ops to the op table.</summary>
        internal static void AddTo(Dictionary<string, OpCall> table)
        {
            table["helper.HoldLock"] = HoldLockAsync;
            table["helper.RunWorker"] = RunWorkerAsync;
        }

        /// <summary>A contract duration ("1.5s") as a TimeSpan; null when absent.</summary>
        internal static TimeSpan? Duration(JToken value)
        {
            var text = value == null || value.Type == JTokenType.Null ? "" : (string)value;
            if (text.Length == 0)
            {
                return null;
            }
            if (!text.EndsWith("s", StringComparison.Ordinal))
            {
                throw new FormatException("not a duration: " + text);
            }
            return TimeSpan.FromTicks((long)(double.Parse(text.Substring(0, text.Length - 1), CultureInfo.InvariantCulture) * TimeSpan.TicksPerSecond));
        }

        private static HoldOptions HoldOptionsOf(JObject input)
        {
            var options = new HoldOptions
            {
                Owner = (string)input["owner"],
                WaitTimeout = Duration(input["wait_timeout"]),
                AutoRenew = input["auto_renew"] == null || (bool)input["auto_renew"],
            };
            var ttl = Duration(input["ttl"]);
            if (ttl.HasValue)
            {
                options.Ttl = ttl.Value;
            }
            return options;
        }

        /// <summary>helper.HoldLock: a block of body_ms inside the SDK's hold.</summary>
        private static async Task<JToken> HoldLockAsync(ConcordClient client, JObject input, StreamSpec spec, RequestOptions options, CancellationToken cancellationToken)
        {
            var result = new JObject { { "lost_signalled", false }, { "exit", "ok" } };
            using (var caller = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                try
                {
                    using (var held = await client.Locks.HoldAsync((string)input["name"], HoldOptionsOf(input), caller.Token).ConfigureAwait(false))
                    {
                        result["lock"] = Output.Of(held.Lock);
                        await BlockAsync(client, held, input, caller, result).ConfigureAwait(false);
                    }
                }
                catch (LockLostException e)
                {
                    result["exit"] = "lock_lost";
                    result["lost_cause"] = CauseOf(e.InnerException);
                }
                catch (BodyError)
                {
                    result["exit"] = "body_error";
                }
                catch (OperationCanceledException) when (caller.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    result["exit"] = "cancelled";
                }
            }
            return result;
        }

        /// <summary>The block: body_ms long (shorter with end_on_lost), then it ends as the input says.</summary>
        private static async Task BlockAsync(ConcordClient client, HeldLock held, JObject input, CancellationTokenSource caller, JObject result)
        {
            var bodyMs = input["body_ms"] == null ? 0 : (int)input["body_ms"];
            var end = (string)input["end"] ?? "return";
            if (end == "cancel")
            {
                caller.CancelAfter(bodyMs);
                await Task.Delay(Timeout.Infinite, caller.Token).ConfigureAwait(false); // only the caller ends it
            }
            var endOnLost = input["end_on_lost"] != null && (bool)input["end_on_lost"];
            try
            {
                await Task.Delay(bodyMs, endOnLost ? held.LostToken : CancellationToken.None).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            if (held.IsLost)
            {
                result["lost_signalled"] = true;
                result["held_when_lost"] = await StillHeldAsync(client, held).ConfigureAwait(false);
            }
            if (end == "raise")
            {
                throw new BodyError();
            }
        }

        private static async Task<bool> StillHeldAsync(ConcordClient client, HeldLock held)
        {
            try
            {
                var current = (await client.Locks.GetAsync(held.Name).ConfigureAwait(false)).Lock;
                return current != null && current.Owner == held.Owner && current.FencingToken == held.FencingToken;
            }
            catch (ConcordException e) when (e.Status != 0)
            {
                return false;
            }
        }

        /// <summary>The protocol's lost_cause of a lock-lost error's cause.</summary>
        private static JToken CauseOf(Exception cause)
        {
            if (cause == null)
            {
                return JValue.CreateNull();
            }
            var api = cause as ConcordException;
            if (api != null && !(api is ConcordConnectionException) && api.Code.ToString() != null)
            {
                return new JObject { { "code", api.Code.ToString() } };
            }
            return new JObject { { "kind", "connection" } };
        }

        private static SagaWorkerOptions WorkerOptionsOf(JObject input)
        {
            var options = new SagaWorkerOptions();
            if (input["concurrency"] != null && (int)input["concurrency"] > 0)
            {
                options.Concurrency = (int)input["concurrency"];
            }
            options.VisibilityTimeout = Duration(input["visibility_timeout"]) ?? options.VisibilityTimeout;
            options.WaitTimeout = Duration(input["wait_timeout"]) ?? options.WaitTimeout;
            options.ShutdownGrace = Duration(input["shutdown_grace"]) ?? options.ShutdownGrace;
            return options;
        }

        /// <summary>helper.RunWorker: the SDK's worker until a stop condition, then the cancellation of its run token.</summary>
        private static async Task<JToken> RunWorkerAsync(ConcordClient client, JObject input, StreamSpec spec, RequestOptions options, CancellationToken cancellationToken)
        {
            using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                var tally = new Tally(input, stop);
                var types = (input["task_types"] as JArray ?? new JArray()).Select(type => (string)type).ToList();
                var worker = client.Sagas.Worker(types, tally.HandleAsync, WorkerOptionsOf(input));
                stop.CancelAfter(input["max_ms"] == null ? 30000 : (int)input["max_ms"]);
                await worker.RunAsync(stop.Token).ConfigureAwait(false);
                return tally.Result();
            }
        }

        /// <summary>What the scripted handler saw, and when to stop the worker.</summary>
        private sealed class Tally
        {
            private readonly object _gate = new object();
            private readonly JObject _input;
            private readonly CancellationTokenSource _stop;
            private readonly JArray _tasks = new JArray();
            private int _started;
            private int _finished;
            private int _running;
            private int _maxConcurrent;

            internal Tally(JObject input, CancellationTokenSource stop)
            {
                _input = input;
                _stop = stop;
            }

            /// <summary>The handler of docs/conformance.md: sleep, then fail or return as the script says.</summary>
            internal async Task<JsonValue> HandleAsync(SagaTask task, CancellationToken cancellationToken)
            {
                Begin(task);
                var entry = ScriptEntry(task);
                try
                {
                    var sleepMs = entry["sleep_ms"] == null ? 0 : (int)entry["sleep_ms"];
                    await Task.Delay(sleepMs, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    End(false); // the worker cancelled the handler
                    throw;
                }
                End(true);
                var failure = (string)entry["fail"];
                if (!string.IsNullOrEmpty(failure))
                {
                    if (entry["non_retryable"] != null && (bool)entry["non_retryable"])
                    {
                        throw new NonRetryableTaskException(failure);
                    }
                    throw new InvalidOperationException(failure);
                }
                if (entry["output"] != null)
                {
                    return JsonValue.FromToken(entry["output"]);
                }
                return JsonValue.FromToken(new JObject { { "step", task.StepName }, { "attempt", task.Attempt } });
            }

            internal JObject Result()
            {
                lock (_gate)
                {
                    return new JObject
                    {
                        { "started", _started },
                        { "finished", _finished },
                        { "max_concurrent", _maxConcurrent },
                        { "tasks", _tasks.DeepClone() },
                    };
                }
            }

            /// <summary>Begins the worker's shutdown off the handler's thread (a late handler may find the run over).</summary>
            private void StopQuietly()
            {
                Task.Run(() =>
                {
                    try
                    {
                        _stop.Cancel();
                    }
                    catch (ObjectDisposedException)
                    {
                    }
                });
            }

            private static JObject ScriptEntry(SagaTask task)
            {
                var input = task.Input == null ? null : task.Input.ToToken() as JObject;
                var script = input == null ? null : input["script"] as JArray;
                if (script == null || script.Count == 0)
                {
                    return new JObject();
                }
                return script[Math.Min(task.Attempt, script.Count) - 1] as JObject ?? new JObject();
            }

            private void Begin(SagaTask task)
            {
                bool stopNow;
                lock (_gate)
                {
                    _started++;
                    _running++;
                    _maxConcurrent = Math.Max(_maxConcurrent, _running);
                    var json = (JObject)Output.Of(task);
                    var seen = new JObject();
                    foreach (var field in new[] { "saga_id", "step_name", "phase", "attempt" })
                    {
                        seen[field] = json[field];
                    }
                    _tasks.Add(seen);
                    stopNow = _input["stop_after_started"] != null && _started >= (int)_input["stop_after_started"];
                }
                if (stopNow)
                {
                    StopQuietly();
                }
            }

            private void End(bool onItsOwn)
            {
                bool stopNow;
                lock (_gate)
                {
                    _running--;
                    if (!onItsOwn)
                    {
                        return;
                    }
                    _finished++;
                    stopNow = _input["stop_after_finished"] != null && _finished >= (int)_input["stop_after_finished"];
                }
                if (stopNow)
                {
                    StopQuietly();
                }
            }
        }
    }
}
