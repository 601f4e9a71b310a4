using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Concord;
using NUnit.Framework;

namespace Concord.Tests
{
    [TestFixture]
    public class PagingTests
    {
        private static FakeClient ThreePages()
        {
            var fake = new FakeClient();
            fake.Handler
                .Reply(200, "{\"locks\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"next_page_token\":\"t1\"}")
                .Reply(200, "{\"locks\":[{\"name\":\"c\"}],\"next_page_token\":\"t2\"}")
                .Reply(200, "{\"locks\":[],\"next_page_token\":\"\"}");
            return fake;
        }

        [Test]
        public void EnumeratesEveryItemAcrossPages()
        {
            using (var fake = ThreePages())
            {
                var names = fake.Client.Locks.List(new ListLocksParams { Prefix = "jobs-", PageSize = 2 }).Select(l => l.Name).ToList();
                CollectionAssert.AreEqual(new[] { "a", "b", "c" }, names);
                var urls = fake.Handler.Requests.Select(r => r.Url.PathAndQuery).ToList();
                Assert.AreEqual("/prefix/v1/locks?prefix=jobs-&page_size=2", urls[0]);
                Assert.AreEqual("/prefix/v1/locks?prefix=jobs-&page_size=2&page_token=t1", urls[1]);
                Assert.AreEqual("/prefix/v1/locks?prefix=jobs-&page_size=2&page_token=t2", urls[2]);
            }
        }

        [Test]
        public async Task WalksItemsAndPagesAsynchronously()
        {
            using (var fake = ThreePages())
            {
                var names = new List<string>();
                using (var cursor = fake.Client.Locks.ListAsync().GetAsyncEnumerator())
                {
                    while (await cursor.MoveNextAsync())
                    {
                        names.Add(cursor.Current.Name);
                    }
                }
                CollectionAssert.AreEqual(new[] { "a", "b", "c" }, names);
            }
            using (var fake = ThreePages())
            {
                var pages = fake.Client.Locks.ListAsync().AsPages();
                Assert.IsTrue(await pages.MoveNextAsync());
                Assert.AreEqual("t1", pages.Current.ContinuationToken);
                Assert.AreEqual(200, pages.Current.GetRawResponse().Status);
            }
            using (var fake = ThreePages())
            {
                Assert.AreEqual(3, (await fake.Client.Locks.ListAsync().ToListAsync()).Count);
            }
        }

        [Test]
        public void StartsAtTheGivenToken()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.Reply(200, "{\"locks\":[{\"name\":\"z\"}]}");
                var page = fake.Client.Locks.List().AsPages("t9").Single();
                Assert.IsNull(page.ContinuationToken);
                StringAssert.EndsWith("page_token=t9", fake.Handler.Requests[0].Url.Query);
            }
        }

        [Test]
        public void FailsOnARepeatedPageToken()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.Reply(200, "{\"locks\":[],\"next_page_token\":\"same\"}").Reply(200, "{\"locks\":[],\"next_page_token\":\"same\"}");
                Assert.Throws<InvalidOperationException>(() => fake.Client.Locks.List().ToList());
            }
        }

        [Test]
        public void FixedPagesServeMocks()
        {
            var pageable = Pageable<Lock>.FromPages(new[] { Page<Lock>.FromValues(new[] { new Lock { Name = "m" } }, null) });
            Assert.AreEqual("m", pageable.Single().Name);
        }
    }
}
