// Hand-written (never regenerated): LocksClient.HoldAsync, a lock held for the length of a scope.
using System;
using System.Threading;
using System.Threading.Tasks;

namespace Concord
{
    /// <summary>Options of <see cref="LocksClient.HoldAsync"/> (docs/sdk-helpers.md, 1.1).</summary>
    public class HoldOptions
    {
        /// <summary>The holder's identity; default "&lt;host&gt;-&lt;pid&gt;-&lt;8 random hex digits&gt;", fresh per hold.</summary>
        public string Owner { get; set; }

        /// <summary>The TTL of the grant and of every renewal; default 30 seconds.</summary>
        public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>How long to wait in line while another owner holds the lock; null or zero fails at once with LockConflictException.</summary>
        public TimeSpan? WaitTimeout { get; set; }

        /// <summary>Renew in the background every TTL/3 (default true); false: the grant lasts one TTL unless you renew.</summary>
        public bool AutoRenew { get; set; } = true;
    }

    /// <content>The lock-hold helper of the locks client.</content>
    public partial class LocksClient
    {
        /// <summary>
        /// Acquires <paramref name="name"/> and holds it for a <c>using</c> scope: renewed in the background, released
        /// on Dispose; <see cref="HeldLock.LostToken"/> is cancelled when the lock can no longer be trusted.
        /// </summary>
        /// <param name="name">The lock.</param>
        /// <param name="options">Owner, TTL, wait in line, auto-renewal (null: defaults).</param>
        /// <param name="cancellationToken">Aborts the acquire (and a wait in line); it does not bound the hold.</param>
        public virtual async Task<HeldLock> HoldAsync(string name, HoldOptions options = null, CancellationToken cancellationToken = default)
        {
            Argument.NotNullOrEmpty(name, nameof(name));
            var settings = options ?? new HoldOptions();
            if (settings.Ttl <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(options), "HoldOptions.Ttl must be positive.");
            }
            var owner = string.IsNullOrEmpty(settings.Owner) ? Helpers.NewIdentity() : settings.Owner;
            var clientTimeout = _pipeline != null ? _pipeline.Settings.Timeout : TimeSpan.FromSeconds(60);
            var call = new RequestOptions();
            if (settings.WaitTimeout.HasValue && settings.WaitTimeout.Value > TimeSpan.Zero)
            {
                call.Timeout = settings.WaitTimeout.Value + clientTimeout;
            }
            var request = new AcquireLockParams { Owner = owner, Ttl = settings.Ttl, WaitTimeout = settings.WaitTimeout };
            var sent = Helpers.Now;
            var granted = await AcquireAsync(name, request, call, cancellationToken).ConfigureAwait(false);
            var hold = new HeldLock(this, _pipeline == null ? null : _pipeline.Log, clientTimeout, granted.Lock, owner, settings.Ttl, sent);
            if (Helpers.Now > sent + HeldLock.Interval(settings.Ttl))
            {
                await hold.ConfirmAsync().ConfigureAwait(false);
            }
            hold.Start(settings.AutoRenew);
            return hold;
        }

        /// <summary>The blocking twin of <see cref="HoldAsync"/>.</summary>
        /// <param name="name">The lock.</param>
        /// <param name="options">Owner, TTL, wait in line, auto-renewal (null: defaults).</param>
        /// <param name="cancellationToken">Aborts the acquire (and a wait in line).</param>
        public virtual HeldLock Hold(string name, HoldOptions options = null, CancellationToken cancellationToken = default)
        {
            return HoldAsync(name, options, cancellationToken).GetAwaiter().GetResult();
        }
    }
}
