using System;
using System.Globalization;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Concord;
using NUnit.Framework;

namespace Concord.Tests
{
    /// <summary>
    /// Ending a quiet server stream from another thread (Dispose, or cancelling its token) while a reader is blocked in it
    /// ends the read at once and without an error (docs/sdk-helpers.md, 3), against the live server.
    /// </summary>
    [TestFixture]
    public class StreamCloseLiveTests
    {
        /// <summary>A hang guard for reads that ending the stream must end, far above any real close.</summary>
        private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(5);

        /// <summary>The server's gauge of open subscriptions to one stream, over any transport.</summary>
        private const string StreamSubscriptions = "concord_event_subscriptions{scope=\"stream\"} ";

        private ConcordClient _client;
        private string _run;

        [SetUp]
        public void SetUp()
        {
            _client = new ConcordClient(LiveTests.LiveOptions());
            _run = "cs-" + Guid.NewGuid().ToString("N").Substring(0, 10);
        }

        [TearDown]
        public void TearDown()
        {
            if (_client != null)
            {
                _client.Dispose();
            }
        }

        [Test]
        public void DisposeEndsAWatchBlockedInForeach()
        {
            using (var stream = _client.Locks.Watch(new WatchLocksParams { Prefix = _run }))
            {
                var reader = stream.GetEnumerator();
                AssertEndingEndsABlockedRead(() => Task.Run(() => reader.MoveNext()), stream.Dispose);
            }
        }

        [Test]
        public async Task DisposeEndsAWatchBlockedInMoveNextAsync()
        {
            using (var stream = await _client.Locks.WatchAsync(new WatchLocksParams { Prefix = _run }))
            {
                AssertEndingEndsABlockedRead(() => Task.Run(() => stream.MoveNextAsync()), stream.Dispose);
            }
        }

        [Test]
        public void CancellingTheTokenEndsAWatchBlockedInForeach()
        {
            using (var cancel = new CancellationTokenSource())
            using (var stream = _client.Locks.Watch(new WatchLocksParams { Prefix = _run }, null, cancel.Token))
            {
                var reader = stream.GetEnumerator();
                AssertEndingEndsABlockedRead(() => Task.Run(() => reader.MoveNext()), cancel.Cancel);
            }
        }

        [Test]
        public void DisposeEndsASubscriptionBlockedInMoveNextAsync()
        {
            var before = OpenStreamSubscriptions();
            using (var stream = _client.Events.Subscribe(_run + "-quiet"))
            {
                Assert.IsTrue(stream.MoveNextAsync().GetAwaiter().GetResult());
                Assert.AreEqual(true, stream.Current.CaughtUp, "a subscription from now starts caught up");
                AssertEndingEndsABlockedRead(() => Task.Run(() => stream.MoveNextAsync().GetAwaiter().GetResult()), stream.Dispose);
            }
            AssertEventually(() => OpenStreamSubscriptions() <= before, "the server sees the subscription go");
        }

        [Test]
        public async Task CancellingTheTokenEndsASubscriptionBlockedInMoveNextAsync()
        {
            using (var cancel = new CancellationTokenSource())
            using (var stream = await _client.Events.SubscribeAsync(_run + "-quiet", null, null, cancel.Token))
            {
                Assert.IsTrue(await stream.MoveNextAsync());
                AssertEndingEndsABlockedRead(() => Task.Run(() => stream.MoveNextAsync()), cancel.Cancel);
            }
        }

        /// <summary>Starts a read of a quiet stream, checks that it blocks, runs end, and checks the read ends without an error and without a message.</summary>
        private static void AssertEndingEndsABlockedRead(Func<Task<bool>> read, Action end)
        {
            var reading = read();
            Assert.IsFalse(reading.Wait(TimeSpan.FromMilliseconds(300)), "the stream is quiet: the read blocks");
            end();
            Assert.IsTrue(reading.Wait(HangGuard), "ending the stream ends the blocked read");
            Assert.IsFalse(reading.Result, "an ended stream has no more messages");
        }

        /// <summary>Waits (at most a minute) until condition holds.</summary>
        private static void AssertEventually(Func<bool> condition, string what)
        {
            var deadline = DateTime.UtcNow.AddMinutes(1);
            while (!condition())
            {
                Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "never happened: " + what);
                Thread.Sleep(50);
            }
        }

        /// <summary>The live server's count of open single-stream subscriptions (from its /metrics).</summary>
        private static double OpenStreamSubscriptions()
        {
            var url = new Uri(LiveTests.LiveOptions().Endpoint, "/metrics");
            using (var http = new HttpClient())
            {
                var metrics = http.GetStringAsync(url).GetAwaiter().GetResult();
                var line = metrics.Split('\n').First(l => l.StartsWith(StreamSubscriptions, StringComparison.Ordinal));
                return double.Parse(line.Substring(StreamSubscriptions.Length), CultureInfo.InvariantCulture);
            }
        }
    }
}
