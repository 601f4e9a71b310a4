using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Concord;
using NUnit.Framework;

namespace Concord.Tests
{
    /// <summary>The SDK against a live server: CONCORD_TEST_BASE_URL and CONCORD_TEST_API_KEY (scripts/test-sdks.sh starts one).</summary>
    [TestFixture]
    public class LiveTests
    {
        private ConcordClient _client;
        private string _run;

        internal static ConcordClientOptions LiveOptions()
        {
            var url = Environment.GetEnvironmentVariable("CONCORD_TEST_BASE_URL");
            if (string.IsNullOrEmpty(url))
            {
                Assert.Ignore("CONCORD_TEST_BASE_URL is not set: no live server");
            }
            return new ConcordClientOptions { Endpoint = new Uri(url), ApiKey = Environment.GetEnvironmentVariable("CONCORD_TEST_API_KEY") };
        }

        [SetUp]
        public void SetUp()
        {
            _client = new ConcordClient(LiveOptions());
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
        public async Task LockLifecycleWithTypedConflict()
        {
            var name = _run + "-lock";
            var granted = (await _client.Locks.AcquireAsync(name, new AcquireLockParams { Owner = "w1", Ttl = TimeSpan.FromSeconds(30) })).Lock;
            Assert.That(granted.FencingToken, Is.GreaterThan(0));
            Assert.AreEqual(TimeSpan.FromSeconds(30), granted.Ttl);
            var conflict = Assert.Throws<LockConflictException>(() => _client.Locks.Acquire(name, new AcquireLockParams { Owner = "w2", Ttl = TimeSpan.FromSeconds(30) }));
            Assert.AreEqual(409, conflict.Status);
            Assert.IsNotNull(conflict.RequestId);
            var renewed = _client.Locks.Renew(name, new RenewLockParams { Owner = "w1", FencingToken = granted.FencingToken, Ttl = TimeSpan.FromMinutes(1) }).Lock;
            Assert.AreEqual(granted.FencingToken, renewed.FencingToken);
            await _client.Locks.ReleaseAsync(name, new ReleaseLockParams { Owner = "w1", FencingToken = granted.FencingToken });
            Assert.Throws<NotFoundException>(() => _client.Locks.Get(name));
        }

        [Test]
        public void AZeroDurationIsSentNotOmitted()
        {
            var error = Assert.Throws<InvalidArgumentException>(() => _client.Locks.Acquire(_run + "-zero", new AcquireLockParams { Owner = "w", Ttl = TimeSpan.Zero }));
            Assert.AreEqual("ttl", error.Details["field"].ToObject<string>());
        }

        [Test]
        public async Task AJsonNullValueRoundTrips()
        {
            await _client.Cache.SetAsync(_run, "k", new SetCacheEntryParams { Value = JsonValue.Null });
            var entry = (await _client.Cache.GetAsync(_run, "k")).Entry;
            Assert.IsNotNull(entry.Value);
            Assert.IsTrue(entry.Value.IsNull);
            _client.Cache.Set(_run, "doc", new SetCacheEntryParams { Value = JsonValue.FromObject(new Dictionary<string, object> { { "n", 1 }, { "tags", new[] { "a" } } }) });
            Assert.AreEqual(JsonValue.Parse("{\"n\":1,\"tags\":[\"a\"]}"), _client.Cache.Get(_run, "doc").Entry.Value);
        }

        [Test]
        public async Task ListsEveryPage()
        {
            for (int i = 0; i < 5; i++)
            {
                await _client.Locks.AcquireAsync(_run + "-" + i, new AcquireLockParams { Owner = "w", Ttl = TimeSpan.FromSeconds(30) });
            }
            var query = new ListLocksParams { Prefix = _run + "-", PageSize = 2 };
            Assert.AreEqual(5, _client.Locks.List(query).Count());
            Assert.AreEqual(3, _client.Locks.List(query).AsPages().Count());
            Assert.AreEqual(5, (await _client.Locks.ListAsync(query).ToListAsync()).Count);
        }

        [Test]
        public async Task WatchesChangesOverServerSentEvents()
        {
            using (var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            using (var stream = await _client.Locks.WatchAsync(new WatchLocksParams { Prefix = _run }, null, cancel.Token))
            {
                var next = stream.MoveNextAsync();
                await _client.Locks.AcquireAsync(_run + "-w", new AcquireLockParams { Owner = "w", Ttl = TimeSpan.FromSeconds(30) });
                Assert.IsTrue(await next);
                Assert.AreEqual(LockEventType.Acquired, stream.Current.Type);
                Assert.AreEqual(_run + "-w", stream.Current.Lock.Name);
            }
        }

        [Test]
        public void AnIdempotencyKeyReplaysTheFirstAnswer()
        {
            var name = _run + "-idem";
            var options = new RequestOptions { IdempotencyKey = _run };
            var first = _client.Locks.Acquire(name, new AcquireLockParams { Owner = "w", Ttl = TimeSpan.FromSeconds(30) }, options);
            var again = _client.Locks.Acquire(name, new AcquireLockParams { Owner = "w", Ttl = TimeSpan.FromSeconds(30) }, options);
            Assert.AreEqual(first.Lock.FencingToken, again.Lock.FencingToken);
            Assert.IsFalse(first.GetRawResponse().IsIdempotentReplay);
            Assert.IsTrue(again.GetRawResponse().IsIdempotentReplay);
            Assert.AreNotEqual(first.GetRawResponse().RequestId, again.GetRawResponse().RequestId);
        }

        [Test]
        public void AnInjectedHttpClientIsNotDisposedWithTheClient()
        {
            var options = LiveOptions();
            using (var http = new System.Net.Http.HttpClient(new System.Net.Http.HttpClientHandler { AllowAutoRedirect = false }))
            {
                options.HttpClient = http;
                using (var client = new ConcordClient(options))
                {
                    Assert.IsNotNull(client.Health.GetLiveness().Status);
                }
                var again = http.GetAsync(options.Endpoint + "v1/health/live").GetAwaiter().GetResult();
                Assert.IsTrue(again.IsSuccessStatusCode);
            }
        }

        [Test]
        public void RetriesInjectedFaults()
        {
            var options = LiveOptions();
            options.MaxRetries = 2;
            options.RetryDelay = TimeSpan.FromMilliseconds(10);
            options.DefaultHeaders["X-Concord-Test-Fault"] = _run + "-k;2;UNAVAILABLE";
            using (var flaky = new ConcordClient(options))
            {
                var granted = flaky.Locks.Acquire(_run + "-flaky", new AcquireLockParams { Owner = "w", Ttl = TimeSpan.FromSeconds(30) });
                Assert.That(granted.Lock.FencingToken, Is.GreaterThan(0));
            }
        }

        [Test]
        public void CancellingAWaitingCallStopsIt()
        {
            var name = _run + "-wait";
            _client.Locks.Acquire(name, new AcquireLockParams { Owner = "holder", Ttl = TimeSpan.FromSeconds(60) });
            using (var cancel = new CancellationTokenSource())
            {
                var waiting = _client.Locks.AcquireAsync(name, new AcquireLockParams { Owner = "waiter", Ttl = TimeSpan.FromSeconds(30), WaitTimeout = TimeSpan.FromMinutes(2) }, null, cancel.Token);
                cancel.CancelAfter(TimeSpan.FromMilliseconds(200));
                Assert.That(() => waiting.GetAwaiter().GetResult(), Throws.InstanceOf<OperationCanceledException>());
            }
            Assert.AreEqual("holder", _client.Locks.Get(name).Lock.Owner);
        }
    }
}
