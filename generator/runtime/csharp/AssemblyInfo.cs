using System.Runtime.CompilerServices;

// The NUnit tests of the runtime core reach its internal seams (delays, the error mapper).
[assembly: InternalsVisibleTo("Concord.Tests")]
