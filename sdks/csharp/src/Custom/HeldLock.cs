// Hand-written (never regenerated): HeldLock, the lock of LocksClient.HoldAsync (docs/sdk-helpers.md, 1).
using System;
using System.Threading;
using System.Threading.Tasks;

namespace Concord
{
    /// <summary>
    /// A lock held for a <c>using</c> scope. While it lasts it is renewed every TTL/3; <see cref="LostToken"/> is
    /// cancelled once the lock can no longer be trusted (a renewal failed finally, or none succeeded before the
    /// local deadline). Dispose releases it (even after the caller was cancelled) and throws
    /// <see cref="LockLostException"/> when the hold was lost.
    /// </summary>
    public sealed class HeldLock : IDisposable
    {
        private static readonly TimeSpan ReleaseBound = TimeSpan.FromSeconds(5);
        private readonly LocksClient _locks;
        private readonly RequestLog _log;
        private readonly TimeSpan _clientTimeout;
        private readonly SemaphoreSlim _renewing = new SemaphoreSlim(1, 1);
        private readonly CancellationTokenSource _lost = new CancellationTokenSource();
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly object _gate = new object();
        private TimeSpan _ttl;
        private TimeSpan _base;
        private TimeSpan _deadline;
        private Lock _lock;
        private Exception _cause;
        private Exception _lastError;
        private bool _gone;
        private volatile bool _isLost;
        private int _released;
        private Task _background = Task.FromResult(0);

        internal HeldLock(LocksClient locks, RequestLog log, TimeSpan clientTimeout, Lock granted, string owner, TimeSpan ttl, TimeSpan sent)
        {
            _locks = locks;
            _log = log;
            _clientTimeout = clientTimeout;
            _lock = granted ?? new Lock();
            Name = _lock.Name;
            Owner = owner;
            FencingToken = _lock.FencingToken;
            _ttl = ttl;
            _base = sent;
            _deadline = sent + ttl - Margin(ttl);
        }

        /// <summary>The lock's name.</summary>
        public string Name { get; }

        /// <summary>The owner the lock is held as.</summary>
        public string Owner { get; }

        /// <summary>The grant's fencing token: pass it to the storage you protect, which rejects older tokens.</summary>
        public long FencingToken { get; }

        /// <summary>The latest grant (expiry, TTL) from the acquire or the last renewal.</summary>
        public Lock Lock
        {
            get
            {
                lock (_gate)
                {
                    return _lock;
                }
            }
        }

        /// <summary>Cancelled once, from any thread, when the hold is lost: pass it to the work the lock protects.</summary>
        public CancellationToken LostToken => _lost.Token;

        /// <summary>True once the hold is lost.</summary>
        public bool IsLost => _isLost;

        /// <summary>Throws <see cref="LockLostException"/> when the hold is lost.</summary>
        public void ThrowIfLost()
        {
            if (IsLost)
            {
                throw new LockLostException(Name, _cause);
            }
        }

        /// <summary>Renews now, serialised with the background renewals; success moves the local deadline.</summary>
        /// <param name="ttl">A new TTL for this and later renewals (null: keep the hold's).</param>
        /// <param name="cancellationToken">Cancels the renewal.</param>
        public async Task RenewAsync(TimeSpan? ttl = null, CancellationToken cancellationToken = default)
        {
            await _renewing.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                ThrowIfLost();
                var length = ttl ?? _ttl;
                var sent = Helpers.Now;
                try
                {
                    var renewed = await _locks.RenewAsync(Name, new RenewLockParams { Owner = Owner, FencingToken = FencingToken, Ttl = length }, null, cancellationToken).ConfigureAwait(false);
                    Renewed(sent, length, renewed.Lock);
                }
                catch (ConcordException e) when (!Helpers.IsTransient(e))
                {
                    Lose(e, true);
                    throw;
                }
            }
            finally
            {
                _renewing.Release();
            }
        }

        /// <summary>Stops the renewals and releases the lock, throwing every failure (LockLostException when the hold was lost); a second call does nothing.</summary>
        /// <param name="cancellationToken">Cancels the release call.</param>
        public async Task ReleaseAsync(CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                return;
            }
            StopBackground();
            if (!_gone)
            {
                try
                {
                    await _locks.ReleaseAsync(Name, new ReleaseLockParams { Owner = Owner, FencingToken = FencingToken }, null, cancellationToken).ConfigureAwait(false);
                }
                catch (ConcordException e) when (e is LockNotHeldException || e is LockExpiredException)
                {
                    Lose(e, true);
                }
            }
            ThrowIfLost();
        }

        /// <summary>The blocking twin of <see cref="ReleaseAsync"/>.</summary>
        public void Release()
        {
            ReleaseAsync().GetAwaiter().GetResult();
        }

        /// <summary>Scope exit: stops the renewals, releases the lock within 5 seconds whatever the caller's cancellation, and throws <see cref="LockLostException"/> when the hold was lost.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                return;
            }
            StopBackground();
            if (!_gone)
            {
                ReleaseDetached();
            }
            ThrowIfLost();
        }

        /// <summary>The renewal interval, TTL/3.</summary>
        internal static TimeSpan Interval(TimeSpan ttl)
        {
            return TimeSpan.FromTicks(ttl.Ticks / 3);
        }

        /// <summary>Confirms a late grant (docs/sdk-helpers.md, 1.2): renews at once until it succeeds, or fails the hold.</summary>
        internal async Task ConfirmAsync()
        {
            lock (_gate)
            {
                _deadline = Helpers.Now + _ttl - Margin(_ttl);
            }
            while (true)
            {
                var outcome = await RenewInBackgroundAsync().ConfigureAwait(false);
                if (outcome == Outcome.Renewed)
                {
                    return;
                }
                if (outcome != Outcome.Transient || !await Helpers.WaitUntilAsync(Helpers.Min(Helpers.Now + RetryInterval(_ttl), Deadline), _stop.Token).ConfigureAwait(false))
                {
                    break;
                }
            }
            Interlocked.Exchange(ref _released, 1);
            if (!_gone)
            {
                ReleaseDetached();
            }
            throw new LockLostException(Name, _cause);
        }

        /// <summary>Starts the background activity: renewals, or with auto-renewal off a watch of the deadline.</summary>
        internal void Start(bool autoRenew)
        {
            _background = Task.Run(autoRenew ? (Func<Task>)RenewLoopAsync : WatchDeadlineAsync);
        }

        private TimeSpan Deadline
        {
            get
            {
                lock (_gate)
                {
                    return _deadline;
                }
            }
        }

        private static TimeSpan Margin(TimeSpan ttl)
        {
            return Helpers.Min(TimeSpan.FromTicks(ttl.Ticks / 5), TimeSpan.FromSeconds(5));
        }

        private static TimeSpan RetryInterval(TimeSpan ttl)
        {
            return Helpers.Min(TimeSpan.FromTicks(ttl.Ticks / 10), TimeSpan.FromSeconds(1));
        }

        private async Task RenewLoopAsync()
        {
            var next = _base + Interval(_ttl);
            while (await Helpers.WaitUntilAsync(next, _stop.Token).ConfigureAwait(false))
            {
                var outcome = await RenewInBackgroundAsync().ConfigureAwait(false);
                if (outcome == Outcome.Renewed)
                {
                    lock (_gate)
                    {
                        next = _base + Interval(_ttl);
                    }
                }
                else if (outcome == Outcome.Transient)
                {
                    var after = _lastError is ConcordException ? ((ConcordException)_lastError).RetryAfter : null;
                    next = Helpers.Min(Helpers.Now + (after ?? RetryInterval(_ttl)), Deadline);
                }
                else
                {
                    return;
                }
            }
        }

        private async Task WatchDeadlineAsync()
        {
            while (await Helpers.WaitUntilAsync(Deadline, _stop.Token).ConfigureAwait(false))
            {
                if (Helpers.Now >= Deadline)
                {
                    Lose(null, false);
                    return;
                }
            }
        }

        /// <summary>One background renewal: retries off, bounded by the remaining lease.</summary>
        private async Task<Outcome> RenewInBackgroundAsync()
        {
            try
            {
                await _renewing.WaitAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return Outcome.Stopped;
            }
            var t = Helpers.Now;
            var deadline = Deadline;
            try
            {
                if (IsLost || t >= deadline)
                {
                    Lose(_lastError, false);
                    return Outcome.Lost;
                }
                var call = new RequestOptions { MaxRetries = 0, Timeout = Helpers.Min(_clientTimeout, deadline - t) };
                var renewed = await _locks.RenewAsync(Name, new RenewLockParams { Owner = Owner, FencingToken = FencingToken, Ttl = _ttl }, call, _stop.Token).ConfigureAwait(false);
                Renewed(t, _ttl, renewed.Lock);
                return Outcome.Renewed;
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return Outcome.Stopped;
            }
            catch (ConcordException e) when (!Helpers.IsTransient(e))
            {
                Lose(e, true);
                return Outcome.Lost;
            }
            catch (Exception e)
            {
                Remember(e, deadline - t);
                return Outcome.Transient;
            }
            finally
            {
                _renewing.Release();
            }
        }

        /// <summary>
        /// Keeps a transient renewal failure as the cause a loss will name, unless it is the timeout of a call the
        /// remaining lease (<paramref name="remaining"/> when it was sent) cut short: that call got no answer before the
        /// deadline, and the last failure a renewal did get stays the cause.
        /// </summary>
        private void Remember(Exception failure, TimeSpan remaining)
        {
            if (failure is ConcordTimeoutException && remaining < _clientTimeout)
            {
                return;
            }
            lock (_gate)
            {
                _lastError = failure;
            }
        }

        private void Renewed(TimeSpan sent, TimeSpan ttl, Lock granted)
        {
            lock (_gate)
            {
                _ttl = ttl;
                _base = sent;
                _deadline = sent + ttl - Margin(ttl);
                _lock = granted ?? _lock;
                _lastError = null;
            }
        }

        /// <summary>Declares the hold lost (once); <paramref name="gone"/>: a final answer says the lock is gone.</summary>
        private void Lose(Exception cause, bool gone)
        {
            lock (_gate)
            {
                _gone |= gone;
                if (_isLost)
                {
                    return;
                }
                _cause = cause;
                _isLost = true;
            }
            if (_log != null)
            {
                _log.Warning("concord hold of lock \"" + Name + "\" lost: " + (cause == null ? "no renewal answered in time" : cause.Message));
            }
            Helpers.SignalQuietly(_lost, _log);
        }

        private void StopBackground()
        {
            Helpers.CancelQuietly(_stop, _log);
            try
            {
                _background.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                if (_log != null)
                {
                    _log.Warning("concord hold of lock \"" + Name + "\": renewals ended with " + e.Message);
                }
            }
        }

        /// <summary>The release of a scope exit: detached from the caller, with the SDK's retries, at most 5 seconds.</summary>
        private void ReleaseDetached()
        {
            using (var bound = new CancellationTokenSource(ReleaseBound))
            {
                try
                {
                    var call = new RequestOptions { Timeout = ReleaseBound };
                    Task.Run(() => _locks.ReleaseAsync(Name, new ReleaseLockParams { Owner = Owner, FencingToken = FencingToken }, call, bound.Token)).GetAwaiter().GetResult();
                }
                catch (ConcordException e) when (e is LockNotHeldException || e is LockExpiredException)
                {
                    Lose(e, true);
                }
                catch (Exception e)
                {
                    if (_log != null)
                    {
                        _log.Warning("concord release of lock \"" + Name + "\" failed (it lapses at its TTL): " + e.Message);
                    }
                }
            }
        }

        private enum Outcome
        {
            Renewed,
            Transient,
            Lost,
            Stopped,
        }
    }
}
