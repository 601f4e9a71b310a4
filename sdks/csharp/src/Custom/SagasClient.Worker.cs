// Hand-written (never regenerated): SagasClient.Worker, the factory of saga task workers.
using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Concord
{
    /// <summary>Options of a <see cref="SagaWorker"/> (docs/sdk-helpers.md, 2.1).</summary>
    public class SagaWorkerOptions
    {
        /// <summary>Handlers running at once, and the most tasks leased at once; default 1.</summary>
        public int Concurrency { get; set; } = 1;

        /// <summary>The lease of a task, sent on every poll and heartbeat; default 30 seconds.</summary>
        public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>
        /// How long one poll waits on the server for a task; default 20 seconds, and a longer one than 60 seconds is
        /// capped at 60. Polls that come back empty start at most once a second, so zero polls once a second while idle.
        /// </summary>
        public TimeSpan WaitTimeout { get; set; } = TimeSpan.FromSeconds(20);

        /// <summary>How long running handlers may go on once shutdown began; default 20 seconds.</summary>
        public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(20);

        /// <summary>The worker's identity; default "&lt;host&gt;-&lt;pid&gt;-&lt;8 random hex digits&gt;".</summary>
        public string WorkerId { get; set; }
    }

    /// <content>The saga worker factory of the sagas client.</content>
    public partial class SagasClient
    {
        /// <summary>
        /// A worker that leases tasks of <paramref name="taskTypes"/>, runs <paramref name="handler"/> on each (its
        /// output completes the task: null completes without output, <see cref="JsonValue.Null"/> sends JSON null;
        /// an exception fails it, <see cref="NonRetryableTaskException"/> for good), heartbeating the lease meanwhile.
        /// Start it with <see cref="SagaWorker.RunAsync"/>.
        /// </summary>
        /// <param name="taskTypes">The task types to run (1 to 50).</param>
        /// <param name="handler">Runs one task; its token is cancelled when the lease is lost or the shutdown grace ends.</param>
        /// <param name="options">Concurrency, lease, poll wait, shutdown grace, identity (null: defaults).</param>
        public virtual SagaWorker Worker(IEnumerable<string> taskTypes, Func<SagaTask, CancellationToken, Task<JsonValue>> handler, SagaWorkerOptions options = null)
        {
            Argument.NotNull(taskTypes, nameof(taskTypes));
            Argument.NotNull(handler, nameof(handler));
            var clientTimeout = _pipeline != null ? _pipeline.Settings.Timeout : TimeSpan.FromSeconds(60);
            return new SagaWorker(this, new List<string>(taskTypes), handler, options ?? new SagaWorkerOptions(), clientTimeout, _pipeline == null ? null : _pipeline.Log);
        }
    }
}
