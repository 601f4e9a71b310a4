using System;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Concord;
using NUnit.Framework;

namespace Concord.Tests
{
    [TestFixture]
    public class RetryTests
    {
        private const string LockJson = "{\"lock\":{\"name\":\"jobs\",\"owner\":\"w1\",\"fencing_token\":7}}";
        private const string Unavailable = "{\"code\":\"UNAVAILABLE\",\"message\":\"busy\",\"request_id\":\"r1\"}";

        [Test]
        public async Task RetriesUnavailableThenSucceeds()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.Reply(503, Unavailable).Reply(503, Unavailable).Reply(200, LockJson);
                var result = await fake.Client.Locks.AcquireAsync("jobs", new AcquireLockParams { Owner = "w1", Ttl = TimeSpan.FromSeconds(30) });
                Assert.AreEqual(7, result.Lock.FencingToken);
                Assert.AreEqual(3, fake.Handler.Requests.Count);
                Assert.AreEqual(2, fake.Delays.Count);
            }
        }

        [Test]
        public void ReusesOneIdempotencyKeyAcrossRetries()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.Reply(503, Unavailable).Fail(new HttpRequestException("reset")).Reply(200, LockJson);
                fake.Client.Locks.Acquire("jobs", new AcquireLockParams { Owner = "w1", Ttl = TimeSpan.FromSeconds(30) });
                var keys = fake.Handler.Requests.Select(r => r.Header("Idempotency-Key")).ToList();
                Assert.AreEqual(3, keys.Count);
                Assert.IsFalse(string.IsNullOrEmpty(keys[0]));
                Assert.AreEqual(1, keys.Distinct().Count());
            }
        }

        [Test]
        public void UsesTheCallersIdempotencyKey()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.Reply(200, LockJson);
                var options = new RequestOptions { IdempotencyKey = "my-key" };
                fake.Client.Locks.Acquire("jobs", new AcquireLockParams { Owner = "w1" }, options);
                Assert.AreEqual("my-key", fake.Handler.Requests[0].Header("Idempotency-Key"));
            }
        }

        [Test]
        public void IdempotentCallsSendNoKey()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.Reply(200, "{\"status\":\"SERVING\"}");
                fake.Client.Health.GetLiveness();
                Assert.IsNull(fake.Handler.Requests[0].Header("Idempotency-Key"));
            }
        }

        [Test]
        public void HonoursRetryAfter()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.Reply(429, "{\"code\":\"RATE_LIMITED\"}", "Retry-After", "2").Reply(200, "{\"status\":\"SERVING\"}");
                fake.Client.Health.GetLiveness();
                CollectionAssert.AreEqual(new[] { TimeSpan.FromSeconds(2) }, fake.Delays);
            }
        }

        [Test]
        public void IgnoresRetryAfterBeyondAMinute()
        {
            using (var fake = new FakeClient(o => o.RetryDelay = TimeSpan.FromSeconds(1)))
            {
                fake.Handler.Reply(503, Unavailable, "Retry-After", "3600").Reply(200, "{}");
                fake.Client.Health.GetLiveness();
                Assert.That(fake.Delays[0], Is.InRange(TimeSpan.FromMilliseconds(750), TimeSpan.FromSeconds(1)));
            }
        }

        [Test]
        public void BacksOffExponentiallyWithJitterUpToTheCap()
        {
            using (var fake = new FakeClient(o =>
            {
                o.MaxRetries = 5;
                o.RetryDelay = TimeSpan.FromSeconds(1);
                o.MaxRetryDelay = TimeSpan.FromSeconds(4);
            }))
            {
                for (int i = 0; i < 5; i++)
                {
                    fake.Handler.Reply(500, "{\"code\":\"INTERNAL\"}");
                }
                fake.Handler.Reply(200, "{}");
                fake.Client.Health.GetLiveness();
                var expected = new[] { 1, 2, 4, 4, 4 };
                for (int i = 0; i < expected.Length; i++)
                {
                    var cap = TimeSpan.FromSeconds(expected[i]);
                    Assert.That(fake.Delays[i], Is.InRange(TimeSpan.FromTicks(cap.Ticks * 3 / 4), cap));
                }
            }
        }

        [Test]
        public void DoesNotRetryAnswers()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.Reply(409, "{\"code\":\"LOCK_CONFLICT\",\"message\":\"held\"}");
                Assert.Throws<LockConflictException>(() => fake.Client.Locks.Acquire("jobs", new AcquireLockParams { Owner = "w1" }));
                Assert.AreEqual(1, fake.Handler.Requests.Count);
            }
        }

        [Test]
        public void StopsAfterMaxRetries()
        {
            using (var fake = new FakeClient(o => o.MaxRetries = 1))
            {
                fake.Handler.Reply(503, Unavailable).Reply(503, Unavailable);
                var error = Assert.Throws<UnavailableException>(() => fake.Client.Health.GetLiveness());
                Assert.AreEqual(503, error.Status);
                Assert.AreEqual(2, fake.Handler.Requests.Count);
            }
        }

        [Test]
        public void PerCallMaxRetriesWins()
        {
            using (var fake = new FakeClient(o => o.MaxRetries = 5))
            {
                fake.Handler.Reply(503, Unavailable);
                Assert.Throws<UnavailableException>(() => fake.Client.Health.GetLiveness(new RequestOptions { MaxRetries = 0 }));
                Assert.AreEqual(1, fake.Handler.Requests.Count);
            }
        }

        [Test]
        public void RetriesConnectionErrorsThenReportsThem()
        {
            using (var fake = new FakeClient(o => o.MaxRetries = 1))
            {
                fake.Handler.Fail(new HttpRequestException("refused")).Fail(new HttpRequestException("refused"));
                var error = Assert.Throws<ConcordConnectionException>(() => fake.Client.Health.GetLiveness());
                Assert.AreEqual(0, error.Status);
                Assert.IsNull(error.Code.ToString());
                Assert.AreEqual(2, fake.Handler.Requests.Count);
            }
        }

        [Test]
        public void RetryAfterParsesSecondsAndDates()
        {
            var now = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
            Assert.AreEqual(TimeSpan.FromSeconds(1.5), RetryRules.ParseRetryAfter("1.5", now));
            Assert.AreEqual(TimeSpan.FromSeconds(30), RetryRules.ParseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now));
            Assert.IsNull(RetryRules.ParseRetryAfter("soon", now));
            Assert.IsNull(RetryRules.ParseRetryAfter("61", now));
        }
    }
}
