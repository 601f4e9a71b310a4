using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Concord;
using NUnit.Framework;

namespace Concord.Tests
{
    /// <summary>SSE resume against a local server whose chunked bodies are cut mid-stream.</summary>
    [TestFixture]
    public class ResumeTests
    {
        private const string CaughtUp = "data: {\"caught_up\":true}\n\n";

        private static string Frame(int revision)
        {
            return "id: " + revision + "\ndata: {\"event\":{\"stream\":\"s\",\"revision\":" + revision + "}}\n\n";
        }

        private static ConcordClient Connect(CuttingServer server, List<TimeSpan> delays, int maxRetries = 3, Func<TimeSpan, CancellationToken, Task> wait = null)
        {
            return new ConcordClient(new ConcordClientOptions
            {
                Endpoint = server.Endpoint,
                ApiKey = "k1",
                MaxRetries = maxRetries,
                RetryDelay = TimeSpan.FromMilliseconds(1),
                MaxRetryDelay = TimeSpan.FromMilliseconds(2),
                RetryWait = (delay, token) =>
                {
                    delays.Add(delay);
                    return wait == null ? Task.FromResult(0) : wait(delay, token);
                },
            });
        }

        private static string Show(SubscribeToStreamResponse message)
        {
            return message.CaughtUp == true ? "caught_up" : message.Event.Revision.ToString();
        }

        /// <summary>Reads the stream to its end: the messages shown, and the exception that ended it (or null).</summary>
        private static async Task<Tuple<List<string>, Exception>> Drain(ServerStream<SubscribeToStreamResponse> stream)
        {
            var got = new List<string>();
            try
            {
                while (await stream.MoveNextAsync())
                {
                    got.Add(Show(stream.Current));
                }
                return Tuple.Create(got, (Exception)null);
            }
            catch (Exception e)
            {
                return Tuple.Create(got, e);
            }
        }

        private static Task<ServerStream<SubscribeToStreamResponse>> Subscribe(ConcordClient client, RequestOptions options = null, CancellationToken token = default(CancellationToken))
        {
            return client.Events.SubscribeAsync("s", new SubscribeToStreamParams { FromRevision = 0 }, options, token);
        }

        [Test]
        public async Task ReopensACutStreamWithLastEventIdWithoutDuplicates()
        {
            using (var server = new CuttingServer().Cut(Frame(0), Frame(1)).End(Frame(2), CaughtUp))
            using (var client = Connect(server, new List<TimeSpan>()))
            {
                var result = await Drain(await Subscribe(client));
                Assert.IsNull(result.Item2);
                CollectionAssert.AreEqual(new[] { "0", "1", "2", "caught_up" }, result.Item1);
                var requests = server.Requests;
                Assert.AreEqual(2, requests.Count);
                Assert.IsFalse(requests[0].ContainsKey("last-event-id"));
                Assert.AreEqual("1", requests[1]["last-event-id"]);
                Assert.AreEqual(requests[0]["request-target"], requests[1]["request-target"]);
                Assert.AreEqual("k1", requests[1]["x-api-key"]);
            }
        }

        private const string Drained = "event: error\ndata: {\"code\":\"UNAVAILABLE\",\"message\":\"shutting down\",\"details\":{\"reason\":\"shutting_down\"}}\n\n";

        [Test]
        public async Task ADrainingServersUnavailableIsResumedFromLikeABreak()
        {
            using (var server = new CuttingServer().End(Frame(0), Frame(1), Drained).End(Frame(2), CaughtUp))
            using (var client = Connect(server, new List<TimeSpan>()))
            {
                var result = await Drain(await Subscribe(client));
                Assert.IsNull(result.Item2);
                CollectionAssert.AreEqual(new[] { "0", "1", "2", "caught_up" }, result.Item1);
                Assert.AreEqual(2, server.Requests.Count);
                Assert.AreEqual("1", server.Requests[1]["last-event-id"]);
            }
        }

        [TestCase(3, false)]
        [TestCase(0, true)]
        public async Task AnUnavailableBeforeAnyIdOrWithoutRetriesIsRaised(int maxRetries, bool afterAnId)
        {
            var frames = afterAnId ? new[] { Frame(0), Drained } : new[] { Drained };
            using (var server = new CuttingServer().End(frames).End(Frame(1)))
            using (var client = Connect(server, new List<TimeSpan>()))
            {
                var result = await Drain(await Subscribe(client, new RequestOptions { MaxRetries = maxRetries }));
                var raised = result.Item2 as UnavailableException;
                Assert.IsNotNull(raised, "an UnavailableException, not " + result.Item2);
                Assert.AreEqual("\"shutting_down\"", raised.Details["reason"].ToString());
                Assert.AreEqual(1, server.Requests.Count);
            }
        }

        [Test]
        public async Task AnInBandErrorOtherThanUnavailableIsRaisedWithoutReopening()
        {
            const string denied = "event: error\ndata: {\"code\":\"PERMISSION_DENIED\",\"message\":\"no\"}\n\n";
            using (var server = new CuttingServer().End(Frame(0), denied).End(Frame(1)))
            using (var client = Connect(server, new List<TimeSpan>()))
            {
                var result = await Drain(await Subscribe(client));
                CollectionAssert.AreEqual(new[] { "0" }, result.Item1);
                Assert.IsInstanceOf<PermissionDeniedException>(result.Item2);
                Assert.AreEqual(1, server.Requests.Count);
            }
        }

        [Test]
        public async Task AnIdOnlyFrameIsNoMessageButItsIdResumes()
        {
            using (var server = new CuttingServer().Cut("id: 5\n\n").End(Frame(6)))
            using (var client = Connect(server, new List<TimeSpan>()))
            {
                var stream = await client.Events.SubscribeAsync("s");
                var result = await Drain(stream);
                Assert.IsNull(result.Item2);
                CollectionAssert.AreEqual(new[] { "6" }, result.Item1);
                Assert.AreEqual("5", server.Requests[1]["last-event-id"]);
            }
        }

        [Test]
        public async Task AStreamWithoutIdsIsNotReopened()
        {
            using (var server = new CuttingServer().Cut("data: {\"type\":\"ACQUIRED\"}\n\n").End())
            using (var client = Connect(server, new List<TimeSpan>()))
            using (var stream = await client.Locks.WatchAsync())
            {
                Assert.IsTrue(await stream.MoveNextAsync());
                Exception error = null;
                try
                {
                    await stream.MoveNextAsync();
                }
                catch (Exception e)
                {
                    error = e;
                }
                Assert.IsInstanceOf<ConcordConnectionException>(error);
                Assert.AreEqual(1, server.Requests.Count);
            }
        }

        [Test]
        public async Task MaxRetriesZeroOfTheCallRaisesTheCut()
        {
            using (var server = new CuttingServer().Cut(Frame(0)).End(Frame(1)))
            using (var client = Connect(server, new List<TimeSpan>()))
            {
                var result = await Drain(await Subscribe(client, new RequestOptions { MaxRetries = 0 }));
                CollectionAssert.AreEqual(new[] { "0" }, result.Item1);
                Assert.IsInstanceOf<ConcordConnectionException>(result.Item2);
                Assert.AreEqual(1, server.Requests.Count);
            }
        }

        [Test]
        public async Task GivesUpAfterMaxRetriesFailedReopensInARow()
        {
            var server = new CuttingServer().Cut(Frame(0)).Refuse(503, "UNAVAILABLE").Cut().Refuse(503, "UNAVAILABLE").End(Frame(1));
            var delays = new List<TimeSpan>();
            using (server)
            using (var client = Connect(server, delays))
            {
                var result = await Drain(await Subscribe(client));
                CollectionAssert.AreEqual(new[] { "0" }, result.Item1);
                Assert.IsInstanceOf<ConcordConnectionException>(result.Item2);
                Assert.AreEqual(4, server.Requests.Count);
                Assert.AreEqual(3, delays.Count);
            }
        }

        [Test]
        public async Task CountsFailuresFromZeroAgainOnceAMessageArrives()
        {
            using (var server = new CuttingServer().Cut(Frame(0)).Cut(Frame(1)).Cut(Frame(2)).End(Frame(3)))
            using (var client = Connect(server, new List<TimeSpan>(), maxRetries: 1))
            {
                var result = await Drain(await Subscribe(client));
                Assert.IsNull(result.Item2);
                CollectionAssert.AreEqual(new[] { "0", "1", "2", "3" }, result.Item1);
                var ids = server.Requests.Select(r => r.ContainsKey("last-event-id") ? r["last-event-id"] : null).ToList();
                CollectionAssert.AreEqual(new[] { null, "0", "1", "2" }, ids);
            }
        }

        [Test]
        public async Task RaisesTheTypedErrorOfARefusedReopen()
        {
            using (var server = new CuttingServer().Cut(Frame(0)).Refuse(403, "PERMISSION_DENIED"))
            using (var client = Connect(server, new List<TimeSpan>()))
            {
                var result = await Drain(await Subscribe(client));
                CollectionAssert.AreEqual(new[] { "0" }, result.Item1);
                Assert.IsInstanceOf<PermissionDeniedException>(result.Item2);
                Assert.AreEqual(2, server.Requests.Count);
            }
        }

        [Test]
        public async Task WaitsTheRetryAfterOfARefusedReopen()
        {
            var delays = new List<TimeSpan>();
            using (var server = new CuttingServer().Cut(Frame(0)).Refuse(503, "UNAVAILABLE", "Retry-After: 0.4\r\n").End(Frame(1)))
            using (var client = Connect(server, delays))
            {
                var result = await Drain(await Subscribe(client));
                Assert.IsNull(result.Item2);
                CollectionAssert.AreEqual(new[] { "0", "1" }, result.Item1);
                Assert.AreEqual(2, delays.Count);
                Assert.AreEqual(TimeSpan.FromMilliseconds(400), delays[1]);
            }
        }

        [Test]
        public async Task CancellingDuringTheBackoffEndsCleanlyWithoutAnotherRequest()
        {
            using (var server = new CuttingServer().Cut(Frame(0)).End(Frame(1)))
            using (var client = Connect(server, new List<TimeSpan>(), wait: (delay, token) => Task.Delay(TimeSpan.FromSeconds(5), token)))
            using (var cancel = new CancellationTokenSource())
            using (var stream = await Subscribe(client, null, cancel.Token))
            {
                Assert.IsTrue(await stream.MoveNextAsync());
                var clock = Stopwatch.StartNew();
                cancel.CancelAfter(300);
                Assert.IsFalse(await stream.MoveNextAsync());
                Assert.Less(clock.Elapsed, TimeSpan.FromSeconds(2));
                Assert.AreEqual(1, server.Requests.Count);
            }
        }

        [Test]
        public async Task DisposingDuringTheBackoffEndsCleanly()
        {
            using (var server = new CuttingServer().Cut(Frame(0)).End(Frame(1)))
            using (var client = Connect(server, new List<TimeSpan>(), wait: (delay, token) => Task.Delay(TimeSpan.FromSeconds(5), token)))
            {
                var stream = await Subscribe(client);
                Assert.IsTrue(await stream.MoveNextAsync());
                var next = stream.MoveNextAsync();
                await Task.Delay(300);
                stream.Dispose();
                Assert.IsFalse(await next);
                Assert.AreEqual(1, server.Requests.Count);
            }
        }
    }
}
