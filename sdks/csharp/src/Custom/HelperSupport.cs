// Hand-written (never regenerated): pieces shared by the lock-hold and saga-worker helpers.
using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace Concord
{
    /// <summary>The lock of a hold can no longer be trusted (docs/sdk-helpers.md, 1.5); not a catalogue error.</summary>
    public class LockLostException : ConcordException
    {
        /// <summary>The loss of lock <paramref name="name"/>, caused by <paramref name="cause"/> (null: no answer came in time).</summary>
        /// <param name="name">The lock.</param>
        /// <param name="cause">The final error, the last transient error, or null.</param>
        public LockLostException(string name, Exception cause)
            : base(0, default(ErrorCode), "lock \"" + name + "\" was lost" + (cause == null ? ": no renewal answered in time" : ": " + cause.Message), null, null, null, cause)
        {
            Name = name;
        }

        /// <summary>The lock that was lost.</summary>
        public string Name { get; }
    }

    /// <summary>Thrown by a saga task handler to fail the step at once, without the retries of its policy.</summary>
    public class NonRetryableTaskException : Exception
    {
        /// <summary>A final failure explained by <paramref name="message"/>.</summary>
        /// <param name="message">What went wrong.</param>
        public NonRetryableTaskException(string message)
            : base(message)
        {
        }

        /// <summary>A final failure explained by <paramref name="message"/>, caused by <paramref name="innerException"/>.</summary>
        /// <param name="message">What went wrong.</param>
        /// <param name="innerException">The cause.</param>
        public NonRetryableTaskException(string message, Exception innerException)
            : base(message, innerException)
        {
        }
    }

    /// <summary>The monotonic clock, identities and failure classes of the helpers.</summary>
    internal static class Helpers
    {
        private static readonly Stopwatch Clock = Stopwatch.StartNew();
        private static readonly Random Random = new Random();

        /// <summary>A reading of the monotonic clock (never compared with server timestamps).</summary>
        internal static TimeSpan Now => Clock.Elapsed;

        /// <summary>"&lt;host&gt;-&lt;pid&gt;-&lt;8 random hex digits&gt;", a fresh identity for an owner or a worker.</summary>
        internal static string NewIdentity()
        {
            int random;
            lock (Random)
            {
                random = Random.Next();
            }
            return Environment.MachineName + "-" + Process.GetCurrentProcess().Id + "-" + random.ToString("x8");
        }

        /// <summary>True for a call that got no answer or an error the catalogue marks retryable.</summary>
        internal static bool IsTransient(Exception error)
        {
            var api = error as ConcordException;
            return error is ConcordConnectionException || (api != null && api.Code.IsRetryable);
        }

        /// <summary>True for UNAUTHENTICATED and PERMISSION_DENIED.</summary>
        internal static bool IsAuthFailure(Exception error)
        {
            var api = error as ConcordException;
            return api != null && (api.Code == ErrorCode.Unauthenticated || api.Code == ErrorCode.PermissionDenied);
        }

        /// <summary>The smaller of two spans.</summary>
        internal static TimeSpan Min(TimeSpan a, TimeSpan b)
        {
            return a < b ? a : b;
        }

        /// <summary>Waits until the monotonic clock reaches <paramref name="at"/>; false when <paramref name="token"/> ended the wait.</summary>
        internal static async Task<bool> WaitUntilAsync(TimeSpan at, CancellationToken token)
        {
            var delay = at - Now;
            try
            {
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, token).ConfigureAwait(false);
                }
                return !token.IsCancellationRequested;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        /// <summary>Cancels a source on the thread pool, so that callbacks of user code never run on (and block) a helper's own thread.</summary>
        internal static void SignalQuietly(CancellationTokenSource source, RequestLog log)
        {
            Task.Run(() => CancelQuietly(source, log));
        }

        /// <summary>Cancels a source, keeping exceptions of user callbacks away from the helper's thread.</summary>
        internal static void CancelQuietly(CancellationTokenSource source, RequestLog log)
        {
            try
            {
                source.Cancel();
            }
            catch (AggregateException e)
            {
                if (log != null)
                {
                    log.Warning("a cancellation callback failed: " + e.InnerException);
                }
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
