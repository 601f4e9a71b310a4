using System;
using System.Globalization;

namespace Concord
{
    /// <summary>Which failures are retried, and after how long: exponential backoff with jitter, or the server's Retry-After.</summary>
    internal static class RetryRules
    {
        /// <summary>The longest Retry-After honoured; a longer one falls back to the backoff.</summary>
        internal static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);

        /// <summary>True for 408, 429 and 5xx answers other than 501 and 505.</summary>
        internal static bool IsRetryableStatus(int status)
        {
            if (status == 408 || status == 429)
            {
                return true;
            }
            return status >= 500 && status != 501 && status != 505;
        }

        /// <summary>The delay before retry number attempt+1: initial * 2^attempt capped at max, less up to 25% jitter.</summary>
        internal static TimeSpan Backoff(int attempt, TimeSpan initial, TimeSpan max, double random)
        {
            double ticks = initial.Ticks * Math.Pow(2, Math.Min(attempt, 30));
            ticks = Math.Min(ticks, max.Ticks);
            return TimeSpan.FromTicks((long)(ticks * (1 - 0.25 * random)));
        }

        /// <summary>A Retry-After header (seconds, fractions accepted, or an HTTP date) up to 60 s; null otherwise.</summary>
        internal static TimeSpan? ParseRetryAfter(string value, DateTimeOffset now)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                return null;
            }
            value = value.Trim();
            TimeSpan delay;
            double seconds;
            DateTimeOffset at;
            if (double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out seconds))
            {
                delay = TimeSpan.FromTicks((long)(seconds * TimeSpan.TicksPerSecond));
            }
            else if (DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out at))
            {
                delay = at > now ? at - now : TimeSpan.Zero;
            }
            else
            {
                return null;
            }
            return delay <= MaxRetryAfter ? delay : (TimeSpan?)null;
        }
    }
}
