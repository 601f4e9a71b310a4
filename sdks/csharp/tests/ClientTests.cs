using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Concord;
using NUnit.Framework;

namespace Concord.Tests
{
    [TestFixture]
    public class ClientTests
    {
        [Test]
        public void SendsCredentialsUserAgentAndHeaders()
        {
            using (var fake = new FakeClient(o =>
            {
                o.DefaultHeaders["X-Team"] = "a";
                o.ApplicationId = "billing/2";
            }))
            {
                fake.Handler.Reply(200, "{}");
                var options = new RequestOptions();
                options.Headers["X-Team"] = "b";
                fake.Client.Locks.Get("a b", options);
                var seen = fake.Handler.Requests[0];
                Assert.AreEqual("http://concord.test/prefix/v1/locks/a%20b", seen.Url.AbsoluteUri);
                Assert.AreEqual("secret-key", seen.Header("X-API-Key"));
                Assert.AreEqual("b", seen.Header("X-Team"));
                StringAssert.StartsWith("billing/2 concord-csharp/" + ConcordClient.SdkVersion + " (", seen.Header("User-Agent"));
                Assert.AreEqual("application/json", seen.Header("Accept"));
            }
        }

        [Test]
        public void ABearerTokenWinsOverAnApiKey()
        {
            using (var fake = new FakeClient(o => o.BearerToken = "jwt"))
            {
                fake.Handler.Reply(200, "{}");
                fake.Client.Auth.WhoAmI();
                Assert.AreEqual("Bearer jwt", fake.Handler.Requests[0].Header("Authorization"));
                Assert.IsNull(fake.Handler.Requests[0].Header("X-API-Key"));
            }
        }

        [Test]
        public void ExplicitCredentialsWinOverTheEnvironment()
        {
            Environment.SetEnvironmentVariable(ConcordClientOptions.BearerTokenVariable, "env-jwt");
            try
            {
                using (var fake = new FakeClient())
                {
                    fake.Handler.Reply(200, "{}");
                    fake.Client.Auth.WhoAmI();
                    Assert.IsNull(fake.Handler.Requests[0].Header("Authorization"));
                    Assert.AreEqual("secret-key", fake.Handler.Requests[0].Header("X-API-Key"));
                }
                using (var fake = new FakeClient(o => o.ApiKey = null))
                {
                    fake.Handler.Reply(200, "{}");
                    fake.Client.Auth.WhoAmI();
                    Assert.AreEqual("Bearer env-jwt", fake.Handler.Requests[0].Header("Authorization"));
                }
            }
            finally
            {
                Environment.SetEnvironmentVariable(ConcordClientOptions.BearerTokenVariable, null);
            }
        }

        [Test]
        public void FollowsSameOriginRedirectsWithCredentials()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.Reply(307, "", "Location", "/prefix/v1/health/live2").Reply(200, "{\"status\":\"SERVING\"}");
                Assert.AreEqual(ServingStatus.Serving, fake.Client.Health.GetLiveness().Status);
                Assert.AreEqual("/prefix/v1/health/live2", fake.Handler.Requests[1].Url.AbsolutePath);
                Assert.AreEqual("secret-key", fake.Handler.Requests[1].Header("X-API-Key"));
            }
        }

        [Test]
        public void RefusesRedirectsToAnotherOrigin()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.Reply(307, "", "Location", "https://concord.test/prefix/v1/health/live");
                var error = Assert.Throws<CrossOriginRedirectException>(() => fake.Client.Health.GetLiveness());
                Assert.AreEqual("https://concord.test/prefix/v1/health/live", error.Location.AbsoluteUri);
                Assert.AreEqual(307, error.Status);
                Assert.AreEqual(1, fake.Handler.Requests.Count);
            }
        }

        [Test]
        public void AnAttemptThatHangsTimesOut()
        {
            using (var fake = new FakeClient(o =>
            {
                o.Timeout = TimeSpan.FromMilliseconds(50);
                o.MaxRetries = 1;
            }))
            {
                fake.Handler.Hang().Hang();
                var error = Assert.Throws<ConcordTimeoutException>(() => fake.Client.Health.GetLiveness());
                Assert.AreEqual(TimeSpan.FromMilliseconds(50), error.Timeout);
                Assert.AreEqual(2, fake.Handler.Requests.Count);
            }
        }

        [Test]
        public void CancellationStopsACallWithoutRetrying()
        {
            using (var fake = new FakeClient())
            using (var cancel = new CancellationTokenSource())
            {
                fake.Handler.Then(async (request, token) =>
                {
                    cancel.Cancel();
                    await Task.Delay(Timeout.Infinite, token).ConfigureAwait(false);
                    return null;
                });
                Assert.Throws<TaskCanceledException>(() => fake.Client.Health.GetLiveness(null, cancel.Token));
                Assert.AreEqual(1, fake.Handler.Requests.Count);
            }
        }

        [Test]
        public void RawResponsesCarryStatusHeadersAndRequestId()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.Reply(200, "{\"lock\":{\"name\":\"a\"}}", "X-Request-ID", "req-7", "Idempotent-Replayed", "true");
                var result = fake.Client.Locks.Acquire("a", new AcquireLockParams { Owner = "w" });
                var raw = result.GetRawResponse();
                Assert.AreEqual(200, raw.Status);
                Assert.AreEqual("req-7", raw.RequestId);
                Assert.IsTrue(raw.IsIdempotentReplay);
                StringAssert.Contains("\"lock\"", raw.Content);
            }
        }

        [Test]
        public void LogsRedactCredentials()
        {
            var lines = new List<string>();
            using (var fake = new FakeClient(o => o.Logger = (level, text) => lines.Add(level + " " + text)))
            {
                fake.Handler.Reply(503, "{\"code\":\"UNAVAILABLE\"}").Reply(200, "{}");
                fake.Client.Health.GetLiveness();
            }
            var all = string.Join("\n", lines);
            StringAssert.DoesNotContain("secret-key", all);
            StringAssert.Contains("X-API-Key: [REDACTED]", all);
            Assert.IsTrue(lines.Any(l => l.StartsWith("Information concord retry GetLiveness", StringComparison.Ordinal)));
        }

        [Test]
        public void RejectsBadOptions()
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => new ConcordClient(new ConcordClientOptions { MaxRetries = -1 }));
            Assert.Throws<ArgumentException>(() => new ConcordClient(new ConcordClientOptions { Endpoint = new Uri("ftp://x") }));
        }

        [Test]
        public void ClientsCanBeMocked()
        {
            var locks = new MockLocks();
            var client = new MockClient(locks);
            Assert.AreEqual(42, client.Locks.Get("x").Lock.FencingToken);
        }

        private sealed class MockLocks : LocksClient
        {
            public override GetLockResponse Get(string name, RequestOptions options = null, CancellationToken cancellationToken = default)
            {
                return new GetLockResponse { Lock = new Lock { Name = name, FencingToken = 42 } };
            }
        }

        private sealed class MockClient : ConcordClient
        {
            private readonly LocksClient _locks;

            internal MockClient(LocksClient locks)
            {
                _locks = locks;
            }

            public override LocksClient Locks => _locks;
        }
    }
}
