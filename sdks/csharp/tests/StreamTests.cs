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
    public class StreamTests
    {
        /// <summary>A hang guard for reads that ending the stream must end, far above any real close.</summary>
        private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(5);

        [Test]
        public async Task ReadsServerSentEvents()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.ReplyEvents(": keep-alive\n\ndata: {\"type\":\"ACQUIRED\",\"lock\":{\"name\":\"a\"}}\n\nevent: future-kind\ndata: {}\n\ndata: {\"type\":\ndata: \"RELEASED\"}\n\n");
                using (var stream = await fake.Client.Locks.WatchAsync(new WatchLocksParams { Prefix = "a" }))
                {
                    Assert.IsTrue(await stream.MoveNextAsync());
                    Assert.AreEqual(LockEventType.Acquired, stream.Current.Type);
                    Assert.AreEqual("a", stream.Current.Lock.Name);
                    Assert.IsTrue(await stream.MoveNextAsync());
                    Assert.AreEqual(LockEventType.Released, stream.Current.Type);
                    Assert.IsFalse(await stream.MoveNextAsync());
                    Assert.AreEqual(200, stream.GetRawResponse().Status);
                }
                Assert.AreEqual("text/event-stream", fake.Handler.Requests[0].Header("Accept"));
            }
        }

        [Test]
        public void RaisesTheTypedErrorOfAnErrorEvent()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.ReplyEvents("event: error\ndata: {\"code\":\"PERMISSION_DENIED\",\"message\":\"no\",\"request_id\":\"r9\"}\n\n");
                using (var stream = fake.Client.Locks.Watch())
                {
                    var error = Assert.Throws<PermissionDeniedException>(() => stream.ToList());
                    Assert.AreEqual(403, error.Status);
                    Assert.AreEqual("r9", error.RequestId);
                }
            }
        }

        [Test]
        public void ARefusedStreamFailsWhenOpened()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.Reply(401, "{\"code\":\"UNAUTHENTICATED\",\"message\":\"who\"}");
                Assert.Throws<UnauthenticatedException>(() => fake.Client.Locks.Watch());
            }
        }

        [Test]
        public async Task CancellationEndsTheStream()
        {
            using (var fake = new FakeClient())
            using (var cancel = new CancellationTokenSource())
            {
                var body = new BlockingStream();
                fake.Handler.Then((request, token) =>
                {
                    var message = new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new StreamContent(body) };
                    return Task.FromResult(message);
                });
                using (var stream = await fake.Client.Locks.WatchAsync(null, null, cancel.Token))
                {
                    var next = stream.MoveNextAsync();
                    cancel.Cancel();
                    Assert.IsFalse(await next);
                    Assert.IsFalse(await stream.MoveNextAsync());
                }
            }
        }

        [Test]
        public async Task DisposeEndsTheStream()
        {
            using (var fake = new FakeClient())
            {
                fake.Handler.Then((request, token) => Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new StreamContent(new BlockingStream()) }));
                var stream = await fake.Client.Locks.WatchAsync();
                var next = stream.MoveNextAsync();
                stream.Dispose();
                Assert.IsFalse(await next);
                Assert.IsFalse(await stream.MoveNextAsync());
            }
        }

        [Test]
        public void DisposeEndsABlockedEnumerationWhoseReadTheConnectionAbortsLate()
        {
            var body = new BlockingStream(abortsOnDispose: false);
            using (var fake = new FakeClient())
            {
                fake.Handler.Then((request, token) => Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new StreamContent(body) }));
                var stream = fake.Client.Locks.Watch();
                var reader = stream.GetEnumerator();
                var reading = Task.Run(() => reader.MoveNext());
                try
                {
                    Assert.IsFalse(reading.Wait(TimeSpan.FromMilliseconds(100)), "the stream is quiet: the read blocks");
                    stream.Dispose();
                    Assert.IsTrue(reading.Wait(HangGuard), "Dispose ends the read without waiting for the connection");
                    Assert.IsFalse(reading.Result);
                }
                finally
                {
                    body.Abort();
                }
            }
        }

        [Test]
        public void CancellationEndsAReadTheConnectionAbortsLate()
        {
            var body = new BlockingStream(abortsOnDispose: false);
            using (var fake = new FakeClient())
            using (var cancel = new CancellationTokenSource())
            {
                fake.Handler.Then((request, token) => Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new StreamContent(body) }));
                using (var stream = fake.Client.Locks.Watch(null, null, cancel.Token))
                {
                    try
                    {
                        var next = stream.MoveNextAsync();
                        cancel.Cancel();
                        Assert.IsTrue(next.Wait(HangGuard), "cancelling ends the read without waiting for the connection");
                        Assert.IsFalse(next.Result);
                        Assert.IsFalse(stream.MoveNextAsync().Result);
                    }
                    finally
                    {
                        body.Abort();
                    }
                }
            }
        }

        [Test]
        public void FixedMessagesServeMocks()
        {
            var stream = ServerStream<WatchLocksResponse>.FromMessages(new[] { new WatchLocksResponse { Type = LockEventType.Expired } });
            Assert.AreEqual(LockEventType.Expired, stream.Single().Type);
        }

        /// <summary>A body that never yields data, like an idle event stream: a pending read fails once the body is disposed, or only once aborted when it does not abort on dispose (as Mono's handler, which takes ~2 s).</summary>
        private sealed class BlockingStream : System.IO.Stream
        {
            private readonly TaskCompletionSource<int> _closed = new TaskCompletionSource<int>();
            private readonly bool _abortsOnDispose;

            internal BlockingStream(bool abortsOnDispose = true)
            {
                _abortsOnDispose = abortsOnDispose;
            }

            /// <summary>Fails the pending read, as a connection torn down at last.</summary>
            internal void Abort()
            {
                _closed.TrySetResult(0);
            }

            public override bool CanRead => true;
            public override bool CanSeek => false;
            public override bool CanWrite => false;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

            public override void Flush()
            {
            }

            public override int Read(byte[] buffer, int offset, int count)
            {
                return ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
            }

            public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            {
                await _closed.Task.ConfigureAwait(false);
                throw new ObjectDisposedException("body");
            }

            public override long Seek(long offset, System.IO.SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

            protected override void Dispose(bool disposing)
            {
                if (_abortsOnDispose)
                {
                    Abort();
                }
                base.Dispose(disposing);
            }
        }
    }
}
