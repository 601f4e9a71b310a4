// A local HTTP/1.1 server on a TcpListener for the SSE resume tests: it answers requests in order from a
// script, records their headers, and can cut a chunked body mid-stream (the socket closes, no final chunk).
using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Concord.Tests
{
    /// <summary>Scripted answers over real sockets; each answer closes its connection.</summary>
    public sealed class CuttingServer : IDisposable
    {
        private readonly TcpListener _listener = new TcpListener(IPAddress.Loopback, 0);
        private readonly Queue<Action<Stream>> _script = new Queue<Action<Stream>>();
        private readonly List<Dictionary<string, string>> _requests = new List<Dictionary<string, string>>();

        public CuttingServer()
        {
            _listener.Start();
            Task.Run(AcceptAsync);
        }

        /// <summary>The server's base URL.</summary>
        public Uri Endpoint => new Uri("http://127.0.0.1:" + ((IPEndPoint)_listener.LocalEndpoint).Port);

        /// <summary>The headers of every request so far (names in lower case; "request-target" holds the path and query).</summary>
        public List<Dictionary<string, string>> Requests
        {
            get
            {
                lock (_requests)
                {
                    return new List<Dictionary<string, string>>(_requests);
                }
            }
        }

        /// <summary>An SSE answer sending these frames, then closing the socket without the final chunk.</summary>
        public CuttingServer Cut(params string[] frames)
        {
            return Then(network =>
            {
                WriteHead(network, 200, "text/event-stream", "Transfer-Encoding: chunked\r\n");
                WriteChunks(network, frames);
                Thread.Sleep(50);
            });
        }

        /// <summary>An SSE answer sending these frames and ending the body properly.</summary>
        public CuttingServer End(params string[] frames)
        {
            return Then(network =>
            {
                WriteHead(network, 200, "text/event-stream", "Transfer-Encoding: chunked\r\n");
                WriteChunks(network, frames);
                Write(network, "0\r\n\r\n");
            });
        }

        /// <summary>An error answer with the contract's body and extra header lines ("Name: value\r\n").</summary>
        public CuttingServer Refuse(int status, string code, string headers = "")
        {
            var body = "{\"code\":\"" + code + "\",\"message\":\"" + code + " happened\",\"details\":{},\"request_id\":\"r1\"}";
            return Then(network =>
            {
                WriteHead(network, status, "application/json", headers + "Content-Length: " + Encoding.UTF8.GetByteCount(body) + "\r\n");
                Write(network, body);
            });
        }

        private CuttingServer Then(Action<Stream> answer)
        {
            lock (_script)
            {
                _script.Enqueue(answer);
            }
            return this;
        }

        private async Task AcceptAsync()
        {
            while (true)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync().ConfigureAwait(false);
                }
                catch (Exception)
                {
                    return;
                }
                var connection = client;
                ThreadPool.QueueUserWorkItem(state => Serve(connection));
            }
        }

        private void Serve(TcpClient client)
        {
            using (client)
            {
                try
                {
                    var network = client.GetStream();
                    var headers = ReadHead(network);
                    Action<Stream> answer = null;
                    lock (_requests)
                    {
                        _requests.Add(headers);
                    }
                    lock (_script)
                    {
                        if (_script.Count > 0)
                        {
                            answer = _script.Dequeue();
                        }
                    }
                    if (answer == null)
                    {
                        WriteHead(network, 500, "text/plain", "Content-Length: 0\r\n");
                        return;
                    }
                    answer(network);
                    network.Flush();
                }
                catch (IOException)
                {
                }
            }
        }

        private static Dictionary<string, string> ReadHead(Stream network)
        {
            var head = new StringBuilder();
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                int b = network.ReadByte();
                if (b < 0)
                {
                    break;
                }
                head.Append((char)b);
            }
            var lines = head.ToString().Split(new[] { "\r\n" }, StringSplitOptions.RemoveEmptyEntries);
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            headers["request-target"] = lines.Length > 0 ? lines[0].Split(' ')[1] : "";
            for (int i = 1; i < lines.Length; i++)
            {
                int colon = lines[i].IndexOf(':');
                headers[lines[i].Substring(0, colon).Trim().ToLowerInvariant()] = lines[i].Substring(colon + 1).Trim();
            }
            return headers;
        }

        private static void WriteHead(Stream network, int status, string mediaType, string headers)
        {
            Write(network, "HTTP/1.1 " + status + " X\r\nContent-Type: " + mediaType + "\r\nConnection: close\r\n" + headers + "\r\n");
        }

        private static void WriteChunks(Stream network, string[] frames)
        {
            foreach (var frame in frames)
            {
                Write(network, Encoding.UTF8.GetByteCount(frame).ToString("x") + "\r\n" + frame + "\r\n");
            }
        }

        private static void Write(Stream network, string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            network.Write(bytes, 0, bytes.Length);
            network.Flush();
        }

        public void Dispose()
        {
            _listener.Stop();
        }
    }
}
