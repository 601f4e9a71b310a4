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

        /// <summary>Waits for the next message: false at the end of the stream, after Dispose or cancellation; throws the typed error the server sent, or ConcordConnectionException when the connection broke.</summary>
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

    /// <summary>A server stream read from Server-Sent Events: one JSON message per event, `event: error` for a typed error.</summary>
    internal sealed class SseStream<T> : ServerStream<T>
    {
        private readonly string _operation;
        private readonly Exchange _exchange;
        private readonly SseReader _reader;
        private readonly CancellationToken _cancellation;
        private readonly CancellationTokenRegistration _registration;
        private int _closed;
        private T _current;

        internal SseStream(string operation, Exchange exchange, Stream body, CancellationToken cancellation)
        {
            _operation = operation;
            _exchange = exchange;
            _reader = new SseReader(body);
            _cancellation = cancellation;
            _registration = cancellation.Register(Close);
        }

        public override T Current => _current;

        public override RawResponse GetRawResponse()
        {
            return _exchange.Raw;
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
                    next = await _reader.ReadEventAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException || e is ObjectDisposedException || e is HttpRequestException || e is WebException)
                {
                    bool closedByUser = Volatile.Read(ref _closed) != 0 || _cancellation.IsCancellationRequested;
                    Close();
                    if (closedByUser)
                    {
                        return false;
                    }
                    throw new ConcordConnectionException(_operation, "the stream broke: " + e.Message, e);
                }
                if (next == null)
                {
                    Close();
                    return false;
                }
                if (next.Name == "error")
                {
                    Close();
                    throw ErrorMapper.FromEvent(_operation, next.Data);
                }
                if (next.Name.Length == 0 || next.Name == "message")
                {
                    _current = Decode(next.Data);
                    return true;
                }
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
                throw new ConcordException(_exchange.Raw.Status, default(ErrorCode), _operation + ": a stream message is not the contract's JSON: " + e.Message, _exchange.Raw.RequestId, null, _exchange.Raw, e);
            }
        }

        private void Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                _registration.Dispose();
                _exchange.Dispose();
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

    /// <summary>Parses text/event-stream: `field: value` lines, events ended by a blank line, data lines joined by "\n", comments ignored.</summary>
    internal sealed class SseReader
    {
        private readonly StreamReader _text;

        internal SseReader(Stream body)
        {
            _text = new StreamReader(body);
        }

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
            }
        }
    }
}
