// The hold and worker helpers on a scripted server (docs/sdk-helpers.md, 1-2): what a loss names as its
// cause, a handler that blocks its thread never holding up the worker's leasing, a hand-back after the
// heartbeat in flight, and empty polls at most once a second.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Concord;
using NUnit.Framework;

namespace Concord.Tests
{
    /// <summary>Answers each request by the first route whose key ends its path; records the paths.</summary>
    public sealed class RoutedHandler : HttpMessageHandler
    {
        private readonly List<KeyValuePair<string, Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>>> _routes =
            new List<KeyValuePair<string, Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>>>();

        private readonly List<string> _paths = new List<string>();

        public RoutedHandler On(string pathEnd, Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> answer)
        {
            _routes.Add(new KeyValuePair<string, Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>>(pathEnd, answer));
            return this;
        }

        public RoutedHandler On(string pathEnd, int status, string body)
        {
            return On(pathEnd, (request, token) => Task.FromResult(FakeHandler.Response(status, body, "application/json")));
        }

        public List<string> Paths
        {
            get
            {
                lock (_paths)
                {
                    return _paths.ToList();
                }
            }
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri.AbsolutePath;
            lock (_paths)
            {
                _paths.Add(path);
            }
            foreach (var route in _routes)
            {
                if (path.EndsWith(route.Key, StringComparison.Ordinal))
                {
                    return route.Value(request, cancellationToken);
                }
            }
            return Task.FromResult(FakeHandler.Response(404, "{\"code\":\"NOT_FOUND\",\"message\":\"no route\"}", "application/json"));
        }
    }

    [TestFixture]
    public class HelperTests
    {
        private const string Grant = "{\"lock\":{\"name\":\"l\",\"owner\":\"o\",\"fencing_token\":7}}";
        private const string Unavailable = "{\"code\":\"UNAVAILABLE\",\"message\":\"busy\",\"request_id\":\"r1\"}";
        private const string Expired = "{\"code\":\"LOCK_EXPIRED\",\"message\":\"gone\",\"request_id\":\"r2\"}";

        private static ConcordClient ClientOf(RoutedHandler handler)
        {
            return new ConcordClient(new ConcordClientOptions
            {
                Endpoint = new Uri("http://concord.test"),
                ApiKey = "k",
                HttpClient = new HttpClient(handler),
                Timeout = TimeSpan.FromSeconds(30),
                RetryWait = (delay, token) => Task.FromResult(0),
            });
        }

        private static string TaskJson(string id)
        {
            return "{\"task_id\":\"" + id + "\",\"saga_id\":\"s\",\"step_name\":\"x\",\"phase\":\"ACTION\",\"task_type\":\"t\",\"attempt\":1,\"worker_id\":\"w\"}";
        }

        private static async Task<HttpResponseMessage> HangAsync(CancellationToken token)
        {
            await Task.Delay(Timeout.Infinite, token).ConfigureAwait(false);
            throw new InvalidOperationException("unreachable");
        }

        /// <summary>A server whose every poll answers no task at once.</summary>
        private static RoutedHandler IdleServer()
        {
            return new RoutedHandler().On("tasks:poll", 200, "{\"tasks\":[]}");
        }

        private static SagaWorker IdleWorker(ConcordClient client)
        {
            return client.Sagas.Worker(new[] { "t" }, (task, token) => Task.FromResult(JsonValue.Null), new SagaWorkerOptions { WaitTimeout = TimeSpan.Zero });
        }

        [Test]
        public async Task ARenewalCutOffByTheDeadlineIsNotTheCauseOfTheLoss()
        {
            var renewals = 0;
            var handler = new RoutedHandler()
                .On(":acquire", 200, Grant)
                .On(":renew", (request, token) => Interlocked.Increment(ref renewals) == 1
                    ? Task.FromResult(FakeHandler.Response(503, Unavailable, "application/json"))
                    : HangAsync(token))
                .On(":release", 409, Expired);
            using (var client = ClientOf(handler))
            {
                LockLostException lost;
                try
                {
                    var held = await client.Locks.HoldAsync("l", new HoldOptions { Ttl = TimeSpan.FromSeconds(3) });
                    var signalled = new TaskCompletionSource<bool>();
                    held.LostToken.Register(() => signalled.TrySetResult(true));
                    Assert.AreSame(signalled.Task, await Task.WhenAny(signalled.Task, Task.Delay(TimeSpan.FromSeconds(60))));
                    lost = Assert.Throws<LockLostException>(() => held.Dispose());
                }
                catch (LockLostException e)
                {
                    lost = e; // a slow acquire: the confirming renewals met the same fate (1.2)
                }
                Assert.GreaterOrEqual(renewals, 2, "a renewal was in flight at the deadline");
                Assert.IsInstanceOf<UnavailableException>(lost.InnerException);
            }
        }

        [Test]
        public async Task AWaitTimeoutAboveSixtySecondsIsSentAsSixty()
        {
            string poll = null;
            var handler = new RoutedHandler().On("tasks:poll", (request, token) =>
            {
                poll = request.Content.ReadAsStringAsync().Result;
                const string denied = "{\"code\":\"PERMISSION_DENIED\",\"message\":\"no\",\"request_id\":\"r3\"}";
                return Task.FromResult(FakeHandler.Response(403, denied, "application/json"));
            });
            using (var client = ClientOf(handler))
            {
                var worker = client.Sagas.Worker(new[] { "t" }, (task, token) => Task.FromResult(JsonValue.Null), new SagaWorkerOptions { WaitTimeout = TimeSpan.FromSeconds(90) });
                Exception stopped = null;
                try
                {
                    await worker.RunAsync();
                }
                catch (PermissionDeniedException e)
                {
                    stopped = e;
                }
                Assert.IsNotNull(stopped, "the refused poll stops the worker");
                StringAssert.Contains("\"wait_timeout\":\"60s\"", poll);
            }
        }

        [Test]
        public async Task AHandlerThatBlocksItsThreadDoesNotHoldUpLeasing()
        {
            var polls = 0;
            var secondStarted = new ManualResetEventSlim();
            var completed = new List<string>();
            var stop = new CancellationTokenSource();
            var handler = new RoutedHandler()
                .On("tasks:poll", (request, token) =>
                {
                    var n = Interlocked.Increment(ref polls);
                    if (n > 2)
                    {
                        return HangAsync(token);
                    }
                    var body = "{\"tasks\":[" + TaskJson(n == 1 ? "a" : "b") + "]}";
                    return Task.FromResult(FakeHandler.Response(200, body, "application/json"));
                })
                .On(":complete", (request, token) =>
                {
                    lock (completed)
                    {
                        completed.Add(request.RequestUri.AbsolutePath);
                        if (completed.Count == 2)
                        {
                            stop.Cancel();
                        }
                    }
                    return Task.FromResult(FakeHandler.Response(200, "{}", "application/json"));
                });
            using (var client = ClientOf(handler))
            {
                var sawSecond = false;
                var worker = client.Sagas.Worker(
                    new[] { "t" },
                    (task, token) =>
                    {
                        if (task.TaskId == "a")
                        {
                            sawSecond = secondStarted.Wait(TimeSpan.FromSeconds(30)); // blocks its thread
                        }
                        else
                        {
                            secondStarted.Set();
                        }
                        return Task.FromResult(JsonValue.FromObject(new { ok = true }));
                    },
                    new SagaWorkerOptions { Concurrency = 2, VisibilityTimeout = TimeSpan.FromSeconds(30) });
                var run = Task.Run(() => worker.RunAsync(stop.Token));
                Assert.AreSame(run, await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(120))), "the worker's run ended");
                await run;
                Assert.IsTrue(sawSecond, "task b started while a's handler blocked its thread");
                Assert.AreEqual(2, completed.Count);
            }
        }

        [Test]
        public async Task AHeartbeatInFlightFinishesBeforeTheHandBack()
        {
            var polls = 0;
            var log = new List<string>();
            var stop = new CancellationTokenSource();
            var handler = new RoutedHandler()
                .On("tasks:poll", (request, token) =>
                    Interlocked.Increment(ref polls) == 1
                        ? Task.FromResult(FakeHandler.Response(200, "{\"tasks\":[" + TaskJson("a") + "]}", "application/json"))
                        : HangAsync(token))
                .On(":heartbeat", async (request, token) =>
                {
                    var body = await request.Content.ReadAsStringAsync().ConfigureAwait(false);
                    if (body.Contains("\"0.001s\""))
                    {
                        lock (log)
                        {
                            log.Add("hand-back");
                        }
                        return FakeHandler.Response(200, "{}", "application/json");
                    }
                    stop.Cancel(); // shut down while this heartbeat is in flight (its timeout is 1 s)
                    await Task.Delay(300).ConfigureAwait(false);
                    lock (log)
                    {
                        log.Add(token.IsCancellationRequested ? "beat cancelled" : "beat answered");
                    }
                    return FakeHandler.Response(200, "{}", "application/json");
                });
            using (var gate = new ManualResetEventSlim())
            using (var client = ClientOf(handler))
            {
                var worker = client.Sagas.Worker(
                    new[] { "t" },
                    (task, token) =>
                    {
                        gate.Wait(TimeSpan.FromSeconds(30)); // ignores its token: outlives the hand-back
                        return Task.FromResult(JsonValue.Null);
                    },
                    new SagaWorkerOptions { VisibilityTimeout = TimeSpan.FromSeconds(3), ShutdownGrace = TimeSpan.FromMilliseconds(20) });
                await worker.RunAsync(stop.Token);
                gate.Set();
                lock (log)
                {
                    CollectionAssert.AreEqual(new[] { "beat answered", "hand-back" }, log);
                }
            }
        }

        [Test]
        public async Task EmptyPollsStartAtMostOnceASecond()
        {
            var handler = IdleServer();
            using (var client = ClientOf(handler))
            using (var stop = new CancellationTokenSource())
            {
                var run = Task.Run(() => IdleWorker(client).RunAsync(stop.Token));
                await Task.Delay(TimeSpan.FromSeconds(2));
                stop.Cancel();
                await run;
                var polls = handler.Paths.Count;
                Assert.GreaterOrEqual(polls, 1, "polls in 2 s");
                Assert.LessOrEqual(polls, 4, "polls in 2 s: empty polls start at most once a second");
            }
        }

        [Test]
        public async Task CancellingTheRunEndsThePauseAfterAnEmptyPollAtOnce()
        {
            var handler = IdleServer();
            using (var client = ClientOf(handler))
            using (var stop = new CancellationTokenSource())
            {
                var run = Task.Run(() => IdleWorker(client).RunAsync(stop.Token));
                var waited = Stopwatch.StartNew();
                while (handler.Paths.Count < 1 && waited.Elapsed < TimeSpan.FromSeconds(60))
                {
                    await Task.Delay(5);
                }
                await Task.Delay(200); // the worker pauses until a second after its first poll
                var early = handler.Paths.Count;
                var stopped = Stopwatch.StartNew();
                stop.Cancel();
                await run;
                Assert.LessOrEqual(early, 2, "polls within 200 ms of the first: no pause");
                Assert.Less(stopped.ElapsedMilliseconds, 800, "RunAsync returned this long after the cancel: the pause went on");
            }
        }
    }
}
