using System;
using Concord;
using NUnit.Framework;

namespace Concord.Tests
{
    [TestFixture]
    public class ErrorTests
    {
        [Test]
        public void MapsACatalogueErrorToItsTypedException()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.Reply(409, "{\"code\":\"LOCK_CONFLICT\",\"message\":\"held by w2\",\"details\":{\"holder\":\"w2\",\"token\":3},\"request_id\":\"req-1\",\"type\":\"about:blank\"}", "X-Request-ID", "req-1", "X-Extra", "yes");
                var error = Assert.Throws<LockConflictException>(() => fake.Client.Locks.Acquire("jobs", new AcquireLockParams { Owner = "w1" }));
                Assert.AreEqual(409, error.Status);
                Assert.AreEqual(ErrorCode.LockConflict, error.Code);
                Assert.AreEqual("held by w2", error.ErrorMessage);
                Assert.AreEqual("req-1", error.RequestId);
                Assert.AreEqual("w2", error.Details["holder"].ToObject<string>());
                Assert.AreEqual(3L, error.Details["token"].ToObject<long>());
                Assert.AreEqual("yes", error.GetRawResponse().Headers["X-Extra"]);
                StringAssert.Contains("LOCK_CONFLICT (HTTP 409): held by w2 [request_id req-1]", error.Message);
                Assert.IsInstanceOf<ConcordException>(error);
            }
        }

        [Test]
        public void EveryCatalogueCodeHasItsException()
        {
            Assert.IsInstanceOf<NotFoundException>(ErrorFactory.Create(404, ErrorCode.NotFound, "m", null, null, null));
            Assert.IsInstanceOf<WrongExpectedRevisionException>(ErrorFactory.Create(409, ErrorCode.WrongExpectedRevision, "m", null, null, null));
            Assert.IsInstanceOf<TaskLeaseLostException>(ErrorFactory.Create(409, ErrorCode.TaskLeaseLost, "m", null, null, null));
            Assert.AreEqual(412, ErrorCode.PreconditionFailed.HttpStatus);
            Assert.IsTrue(ErrorCode.Unavailable.IsRetryable);
            Assert.IsFalse(ErrorCode.NotFound.IsRetryable);
        }

        [Test]
        public void KeepsAnUnknownCode()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.Reply(418, "{\"code\":\"TEAPOT\",\"message\":\"short and stout\"}");
                var error = Assert.Throws<ConcordException>(() => fake.Client.Health.GetLiveness());
                Assert.AreEqual("TEAPOT", error.Code.ToString());
                Assert.AreEqual(418, error.Status);
            }
        }

        [Test]
        public void DerivesTheCodeFromTheStatusWithoutAConcordBody()
        {
            using (var fake = new FakeClient(o => o.MaxRetries = 0))
            {
                fake.Handler.Reply(502, "<html>bad gateway</html>", "X-Request-ID", "gw-1");
                var error = Assert.Throws<UnavailableException>(() => fake.Client.Health.GetLiveness());
                Assert.AreEqual(502, error.Status);
                Assert.AreEqual("gw-1", error.RequestId);
                StringAssert.Contains("bad gateway", error.ErrorMessage);
            }
        }

        [Test]
        public void RejectsEmptyPathParametersBeforeSending()
        {
            using (var fake = new FakeClient())
            {
                Assert.Throws<ArgumentException>(() => fake.Client.Locks.Get(""));
                Assert.Throws<ArgumentNullException>(() => fake.Client.Locks.Acquire("jobs", null));
                Assert.AreEqual(0, fake.Handler.Requests.Count);
            }
        }
    }
}
