using Concord;
using NUnit.Framework;

namespace Concord.Tests
{
    /// <summary>The Traceparent request option: sent as the W3C header; a header of the same name wins.</summary>
    [TestFixture]
    public class TraceContextTests
    {
        private const string Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

        [Test]
        public void SendsTheTraceparentOfTheCallAndNoneWithoutOne()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.Reply(200, "{}");
                fake.Handler.Reply(200, "{}");
                fake.Client.Auth.WhoAmI(new RequestOptions { Traceparent = Traceparent });
                fake.Client.Auth.WhoAmI();
                Assert.AreEqual(Traceparent, fake.Handler.Requests[0].Header("traceparent"));
                Assert.IsNull(fake.Handler.Requests[1].Header("traceparent"));
            }
        }

        [Test]
        public void ATraceparentHeaderWinsOverTheOption()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.Reply(200, "{}");
                var options = new RequestOptions { Traceparent = Traceparent };
                options.Headers["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
                fake.Client.Auth.WhoAmI(options);
                Assert.AreEqual("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", fake.Handler.Requests[0].Header("traceparent"));
            }
        }
    }
}
