using System;
using System.Globalization;

namespace Concord
{
    /// <summary>The contract's text forms of Durations ("1.5s") and Timestamps (RFC 3339 in UTC).</summary>
    public static class Wire
    {
        private const long TicksPerSecond = TimeSpan.TicksPerSecond;

        /// <summary>Writes a duration as the contract does: "30s", "0.250s", "-1.500s".</summary>
        public static string FormatDuration(TimeSpan value)
        {
            long ticks = value.Ticks;
            string sign = ticks < 0 ? "-" : "";
            ulong magnitude = ticks < 0 ? (ulong)(-(ticks + 1)) + 1 : (ulong)ticks;
            ulong seconds = magnitude / TicksPerSecond;
            long nanos = (long)(magnitude % TicksPerSecond) * 100;
            return sign + seconds.ToString(CultureInfo.InvariantCulture) + Fraction(nanos) + "s";
        }

        /// <summary>Reads the contract's duration form: decimal seconds with an "s" suffix, e.g. "1.5s" or "-0.001s".</summary>
        public static TimeSpan ParseDuration(string text)
        {
            if (text == null || text.Length < 2 || text[text.Length - 1] != 's')
            {
                throw BadDuration(text);
            }
            string body = text.Substring(0, text.Length - 1);
            bool negative = body.StartsWith("-", StringComparison.Ordinal);
            if (negative)
            {
                body = body.Substring(1);
            }
            int dot = body.IndexOf('.');
            string whole = dot < 0 ? body : body.Substring(0, dot);
            string fraction = dot < 0 ? "" : body.Substring(dot + 1);
            if (whole.Length == 0 || fraction.Length > 9 || !Digits(whole) || !Digits(fraction))
            {
                throw BadDuration(text);
            }
            long seconds;
            if (!long.TryParse(whole, NumberStyles.None, CultureInfo.InvariantCulture, out seconds) || seconds > TimeSpan.MaxValue.Ticks / TicksPerSecond - 1)
            {
                throw BadDuration(text);
            }
            long ticks = seconds * TicksPerSecond + (fraction.Length == 0 ? 0 : long.Parse(fraction.PadRight(9, '0').Substring(0, 7), CultureInfo.InvariantCulture));
            return TimeSpan.FromTicks(negative ? -ticks : ticks);
        }

        /// <summary>Writes a timestamp as the contract does: RFC 3339 in UTC, "2026-11-23T10:00:00.123Z".</summary>
        public static string FormatTimestamp(DateTimeOffset value)
        {
            DateTime utc = value.UtcDateTime;
            long nanos = (utc.Ticks % TicksPerSecond) * 100;
            return utc.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + Fraction(nanos) + "Z";
        }

        /// <summary>Reads an RFC 3339 timestamp (any offset, up to 9 fractional digits; beyond 100 ns it is truncated).</summary>
        public static DateTimeOffset ParseTimestamp(string text)
        {
            if (text == null)
            {
                throw new FormatException("A timestamp must not be null.");
            }
            string trimmed = TrimFraction(text);
            DateTimeOffset value;
            if (!DateTimeOffset.TryParse(trimmed, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out value) || trimmed.IndexOf('T') < 0 && trimmed.IndexOf('t') < 0)
            {
                throw new FormatException("\"" + text + "\" is not an RFC 3339 timestamp.");
            }
            return value.ToUniversalTime();
        }

        private static string TrimFraction(string text)
        {
            int dot = text.IndexOf('.');
            if (dot < 0)
            {
                return text;
            }
            int end = dot + 1;
            while (end < text.Length && char.IsDigit(text[end]))
            {
                end++;
            }
            int digits = end - dot - 1;
            return digits <= 7 ? text : text.Substring(0, dot + 8) + text.Substring(end);
        }

        private static string Fraction(long nanos)
        {
            if (nanos == 0)
            {
                return "";
            }
            if (nanos % 1000000 == 0)
            {
                return "." + (nanos / 1000000).ToString("D3", CultureInfo.InvariantCulture);
            }
            if (nanos % 1000 == 0)
            {
                return "." + (nanos / 1000).ToString("D6", CultureInfo.InvariantCulture);
            }
            return "." + nanos.ToString("D9", CultureInfo.InvariantCulture);
        }

        private static bool Digits(string text)
        {
            foreach (char c in text)
            {
                if (c < '0' || c > '9')
                {
                    return false;
                }
            }
            return true;
        }

        private static FormatException BadDuration(string text)
        {
            return new FormatException("\"" + text + "\" is not a duration in decimal seconds like \"1.5s\".");
        }
    }
}
