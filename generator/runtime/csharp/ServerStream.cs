using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace Concord
{
    /// <summary>
    /// The messages of a server stream (a watch or a subscription), read as they arrive: <c>while (await
    /// stream.MoveNextAsync()) { use(stream.Current); }</c>, or <c>foreach</c> (blocking). Dispose it to close
    /// the connection; cancelling the token given when it was opened ends it cleanly (MoveNextAsync answers false).
    /// </summary>
    public abstract class ServerStream<T> : IEnumerable<T>, IDisposable
    {
        /// <summary>For mocking and subclasses.</summary>
        protected ServerStream()
        {
        }

        /// <summary>The message the last successful <see cref="MoveNextAsync"/> read.</summary>
        public abstract T Current { get; }

        /// <summary>Waits for the next message: false at the end of the stream, after Dispose or cancellation; throws the typed error the server sent, or ConcordConnectionException when the connection broke and could not be reopened.</summary>
        public abstract Task<bool> MoveNextAsync();

        /// <summary>The HTTP answer that opened the stream (null for a stream built by hand).</summary>
        public virtual RawResponse GetRawResponse()
        {
            return null;
        }

        /// <summary>A stream over fixed messages, for tests and mocks.</summary>
        public static ServerStream<T> FromMessages(IEnumerable<T> messages)
        {
            Argument.NotNull(messages, nameof(messages));
            return new FixedStream(messages);
        }

        /// <summary>Reads the remaining messages, blocking for each.</summary>
        public IEnumerator<T> GetEnumerator()
        {
            while (MoveNextAsync().GetAwaiter().GetResult())
            {
                yield return Current;
            }
        }

        IEnumerator IEnumerable.GetEnumerator()
        {
            return GetEnumerator();
        }

        /// <summary>Closes the stream and its connection; safe to call more than once.</summary>
        public void Dispose()
        {
            Dispose(true);
            GC.SuppressFinalize(this);
        }

        /// <summary>Releases the connection (subclasses override).</summary>
        protected virtual void Dispose(bool disposing)
        {
        }

        private sealed class FixedStream : ServerStream<T>
        {
            private readonly IEnumerator<T> _messages;

            internal FixedStream(IEnumerable<T> messages)
            {
                _messages = messages.GetEnumerator();
            }

            public override T Current => _messages.Current;

            public override Task<bool> MoveNextAsync()
            {
                return Task.FromResult(_messages.MoveNext());
            }
        }
    }

    /// <summary>
    /// A server stream read from Server-Sent Events: one JSON message per event, `event: error` for a typed error.
    /// A connection that breaks after an `id:`, or an in-band UNAVAILABLE after one, is reopened with Last-Event-ID (docs/sdk-helpers.md, 3).
    /// </summary>
    internal sealed class SseStream<T> : ServerStream<T>
    {
        private readonly string _operation;
        private readonly RawResponse _opened;
        private readonly StreamReopener _reopener;
        private readonly CancellationTokenSource _closer = new CancellationTokenSource();
        private readonly TaskCompletionSource<SseEvent> _closedSignal = new TaskCompletionSource<SseEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenRegistration _registration;
        private readonly object _gate = new object();
        private Exchange _exchange;
        private SseReader _reader;
        private int _failures;
        private int _closed;
        private T _current;

        internal SseStream(string operation, Exchange exchange, Stream body, StreamReopener reopener, CancellationToken cancellation)
        {
            _operation = operation;
            _opened = exchange.Raw;
            _exchange = exchange;
            _reader = new SseReader(body, "");
            _reopener = reopener;
            _registration = cancellation.Register(Close);
        }

        public override T Current => _current;

        public override RawResponse GetRawResponse()
        {
            return _opened;
        }

        public override async Task<bool> MoveNextAsync()
        {
            while (true)
            {
                if (Volatile.Read(ref _closed) != 0)
                {
                    return false;
                }
                SseEvent next;
                try
                {
                    next = await ReadOrClosedAsync(_reader.ReadEventAsync()).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException || e is ObjectDisposedException || e is HttpRequestException || e is WebException || e is OperationCanceledException)
                {
                    if (Volatile.Read(ref _closed) != 0 || !await ResumeAsync(e).ConfigureAwait(false))
                    {
                        return false;
                    }
                    continue;
                }
                if (next == null)
                {
                    Close();
                    return false;
                }
                if (next.Name == "error")
                {
                    var error = ErrorMapper.FromEvent(_operation, next.Data);
                    if (error.Code != ErrorCode.Unavailable)
                    {
                        Close();
                        throw error;
                    }
                    if (!await ResumeAsync(error).ConfigureAwait(false))
                    {
                        return false;
                    }
                    continue;
                }
                if (next.Name.Length == 0 || next.Name == "message")
                {
                    _current = Decode(next.Data);
                    _failures = 0;
                    return true;
                }
            }
        }

        /// <summary>The event read, or null (the end) once the stream closes: a handler may abort a pending read only later (Mono's takes ~2 s), and the reader must not wait for it.</summary>
        private async Task<SseEvent> ReadOrClosedAsync(Task<SseEvent> read)
        {
            if (!read.IsCompleted && await Task.WhenAny(read, _closedSignal.Task).ConfigureAwait(false) != read)
            {
                ObserveFailure(read);
                return null;
            }
            return await read.ConfigureAwait(false);
        }

        /// <summary>Observes the failure of an abandoned read (the connection torn down), so that it is not reported as unobserved.</summary>
        private static void ObserveFailure(Task read)
        {
            read.ContinueWith(abandoned => abandoned.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
        }

        /// <summary>Reopens after a break or the server's in-band UNAVAILABLE (a draining server, an engine outage), with backoff: true once reopened, false when closed meanwhile; throws when it cannot.</summary>
        private async Task<bool> ResumeAsync(Exception broken)
        {
            ConcordException failure = broken as ConcordException ?? new ConcordConnectionException(_operation, "the stream broke: " + broken.Message, broken);
            string lastEventId = _reader.LastEventId;
            if (lastEventId.Length == 0)
            {
                Close();
                throw failure;
            }
            while (true)
            {
                var delay = NextDelay(failure);
                try
                {
                    await _reopener.WaitAsync(_failures - 1, delay, failure, _closer.Token).ConfigureAwait(false);
                    var exchange = await _reopener.AttemptAsync(lastEventId, _closer.Token).ConfigureAwait(false);
                    var body = await exchange.Message.Content.ReadAsStreamAsync().ConfigureAwait(false);
                    return Swap(exchange, new SseReader(body, lastEventId));
                }
                catch (OperationCanceledException) when (_closer.IsCancellationRequested)
                {
                    return false;
                }
                catch (ConcordException e)
                {
                    failure = e;
                }
            }
        }

        /// <summary>The wait before the next reopen attempt; throws a non-retryable failure, or a connection error once the attempts ran out.</summary>
        private TimeSpan NextDelay(ConcordException failure)
        {
            if (!(failure is ConcordConnectionException) && !RetryRules.IsRetryableStatus(failure.Status))
            {
                Close();
                throw failure;
            }
            var delay = _failures < _reopener.MaxRetries ? _reopener.Delay(_failures, failure) : null;
            if (!delay.HasValue)
            {
                Close();
                if (_failures == 0 || failure is ConcordConnectionException)
                {
                    throw failure;
                }
                throw new ConcordConnectionException(_operation, "the stream broke and could not be reopened: " + failure.Message, failure);
            }
            _failures++;
            return delay.Value;
        }

        /// <summary>Reads on from a reopened connection, unless the stream was closed meanwhile.</summary>
        private bool Swap(Exchange exchange, SseReader reader)
        {
            lock (_gate)
            {
                if (Volatile.Read(ref _closed) != 0)
                {
                    exchange.Dispose();
                    return false;
                }
                _exchange.Dispose();
                _exchange = exchange;
                _reader = reader;
                return true;
            }
        }

        private T Decode(string data)
        {
            try
            {
                return ConcordJson.Deserialize<T>(data);
            }
            catch (FormatException e)
            {
                Close();
                throw new ConcordException(_opened.Status, default(ErrorCode), _operation + ": a stream message is not the contract's JSON: " + e.Message, _opened.RequestId, null, _opened, e);
            }
        }

        private void Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                _registration.Dispose();
                _closer.Cancel();
                _closedSignal.TrySetResult(null);
                lock (_gate)
                {
                    _exchange.Dispose();
                }
            }
        }

        protected override void Dispose(bool disposing)
        {
            Close();
        }
    }

    /// <summary>One dispatched Server-Sent Event.</summary>
    internal sealed class SseEvent
    {
        internal SseEvent(string name, string data)
        {
            Name = name;
            Data = data;
        }

        internal string Name { get; }

        internal string Data { get; }
    }

    /// <summary>
    /// Parses text/event-stream: `field: value` lines, events ended by a blank line, data lines joined by "\n", comments
    /// ignored. A frame without data (an id-only frame) dispatches nothing but still sets <see cref="LastEventId"/>.
    /// </summary>
    internal sealed class SseReader
    {
        private readonly StreamReader _text;
        private string _id;

        internal SseReader(Stream body, string lastEventId)
        {
            _text = new StreamReader(body);
            _id = lastEventId;
            LastEventId = lastEventId;
        }

        /// <summary>The id of the last frame dispatched ("" before any `id:` line), as a reopen's Last-Event-ID.</summary>
        internal string LastEventId { get; private set; }

        /// <summary>The next event with data, or null at the end (an unfinished event is dropped).</summary>
        internal async Task<SseEvent> ReadEventAsync()
        {
            string name = "";
            List<string> data = null;
            while (true)
            {
                var line = await _text.ReadLineAsync().ConfigureAwait(false);
                if (line == null)
                {
                    return null;
                }
                if (line.Length == 0)
                {
                    LastEventId = _id;
                    if (data != null)
                    {
                        return new SseEvent(name, string.Join("\n", data));
                    }
                    name = "";
                    continue;
                }
                if (line[0] == ':')
                {
                    continue;
                }
                int colon = line.IndexOf(':');
                string field = colon < 0 ? line : line.Substring(0, colon);
                string value = colon < 0 ? "" : line.Substring(colon + 1);
                if (value.StartsWith(" ", StringComparison.Ordinal))
                {
                    value = value.Substring(1);
                }
                if (field == "data")
                {
                    (data ?? (data = new List<string>())).Add(value);
                }
                else if (field == "event")
                {
                    name = value;
                }
                else if (field == "id" && value.IndexOf('\0') < 0)
                {
                    _id = value;
                }
            }
        }
    }
}
