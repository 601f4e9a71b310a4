using System;

namespace Concord
{
    /// <summary>Checks of method arguments, failing with the usual argument exceptions.</summary>
    internal static class Argument
    {
        /// <summary>Throws ArgumentNullException when <paramref name="value"/> is null.</summary>
        internal static void NotNull(object value, string name)
        {
            if (value == null)
            {
                throw new ArgumentNullException(name);
            }
        }

        /// <summary>Throws when a string argument is null or empty.</summary>
        internal static void NotNullOrEmpty(string value, string name)
        {
            if (value == null)
            {
                throw new ArgumentNullException(name);
            }
            if (value.Length == 0)
            {
                throw new ArgumentException("Value must not be empty.", name);
            }
        }
    }
}
