// Hand-written (never regenerated): SagaWorker, which leases saga tasks and runs a handler on them
// (docs/sdk-helpers.md, 2).
using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;

namespace Concord
{
    /// <summary>
    /// Leases saga tasks (never more than <see cref="SagaWorkerOptions.Concurrency"/>), runs the handler on each while
    /// heartbeating its lease, and completes or fails it. <see cref="RunAsync"/> runs until its token is cancelled
    /// (then running handlers get the shutdown grace and unfinished tasks are handed back) or the server refuses the
    /// worker's credential.
    /// </summary>
    public class SagaWorker
    {
        private const int MaxErrorMessage = 4000;
        private static readonly TimeSpan HandBackLease = TimeSpan.FromMilliseconds(1);
        private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(60);
        private static readonly TimeSpan IdlePollInterval = TimeSpan.FromSeconds(1); // empty polls start at most this often
        private readonly SagasClient _sagas;
        private readonly List<string> _taskTypes;
        private readonly Func<SagaTask, CancellationToken, Task<JsonValue>> _handler;
        private readonly SagaWorkerOptions _options;
        private readonly TimeSpan _clientTimeout;
        private readonly TimeSpan _wait;
        private readonly RequestLog _log;
        private readonly Random _random = new Random();
        private CancellationTokenSource _stopping;
        private Exception _stopError;

        internal SagaWorker(SagasClient sagas, List<string> taskTypes, Func<SagaTask, CancellationToken, Task<JsonValue>> handler, SagaWorkerOptions options, TimeSpan clientTimeout, RequestLog log)
        {
            if (taskTypes.Count == 0)
            {
                throw new ArgumentException("A worker needs at least one task type.", nameof(taskTypes));
            }
            if (options.Concurrency < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(options), "SagaWorkerOptions.Concurrency must be at least 1.");
            }
            if (options.VisibilityTimeout <= TimeSpan.Zero || options.WaitTimeout < TimeSpan.Zero || options.ShutdownGrace < TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(options), "SagaWorkerOptions durations must not be negative (VisibilityTimeout positive).");
            }
            _sagas = sagas;
            _taskTypes = taskTypes;
            _handler = handler;
            _options = options;
            _clientTimeout = clientTimeout;
            _wait = Helpers.Min(options.WaitTimeout, MaxWait);
            _log = log;
            WorkerId = string.IsNullOrEmpty(options.WorkerId) ? Helpers.NewIdentity() : options.WorkerId;
        }

        /// <summary>For mocking.</summary>
        protected SagaWorker()
        {
        }

        /// <summary>The identity the worker leases tasks as.</summary>
        public string WorkerId { get; }

        /// <summary>
        /// Polls and handles tasks until <paramref name="cancellationToken"/> is cancelled (then it returns after the
        /// shutdown) or a call answers UNAUTHENTICATED, PERMISSION_DENIED (or INVALID_ARGUMENT to a poll): then it
        /// shuts down the same way and throws that error.
        /// </summary>
        /// <param name="cancellationToken">Begins the shutdown.</param>
        public virtual async Task RunAsync(CancellationToken cancellationToken = default)
        {
            _stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var running = new List<TaskRun>();
            try
            {
                await LeaseLoopAsync(running).ConfigureAwait(false);
                await ShutdownAsync(running).ConfigureAwait(false);
            }
            finally
            {
                _stopping.Dispose();
            }
            if (_stopError != null)
            {
                ExceptionDispatchInfo.Capture(_stopError).Throw();
            }
        }

        /// <summary>Polls while slots are free, until shutdown begins.</summary>
        private async Task LeaseLoopAsync(List<TaskRun> running)
        {
            int failures = 0;
            while (!_stopping.IsCancellationRequested)
            {
                running.RemoveAll(run => run.Completion.IsCompleted);
                int free = _options.Concurrency - running.Count;
                if (free <= 0)
                {
                    await WaitForASlotAsync(running).ConfigureAwait(false);
                    continue;
                }
                PollTasksResponse polled;
                var started = Helpers.Now;
                try
                {
                    polled = await PollAsync(free).ConfigureAwait(false);
                    failures = 0;
                }
                catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
                {
                    return;
                }
                catch (ConcordException e) when (Helpers.IsAuthFailure(e) || e is InvalidArgumentException)
                {
                    Stop(e);
                    return;
                }
                catch (Exception e)
                {
                    failures++;
                    Warn("poll failed (" + e.Message + "); polling again after a backoff");
                    await Helpers.WaitUntilAsync(Helpers.Now + PollBackoff(failures), _stopping.Token).ConfigureAwait(false);
                    continue;
                }
                var arrival = Helpers.Now;
                foreach (var task in polled.Tasks)
                {
                    var run = new TaskRun(task, arrival);
                    running.Add(run);
                    run.Completion = _stopping.IsCancellationRequested ? HandBackAsync(run) : RunTaskAsync(run);
                }
                if (polled.Tasks.Count == 0)
                {
                    // empty polls start at most once a second; shutdown ends the pause
                    await Helpers.WaitUntilAsync(started + IdlePollInterval, _stopping.Token).ConfigureAwait(false);
                }
            }
        }

        /// <summary>Waits until a running task ends or shutdown begins.</summary>
        private async Task WaitForASlotAsync(List<TaskRun> running)
        {
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
            {
                var stopped = Task.Delay(Timeout.Infinite, wait.Token);
                await Task.WhenAny(running.Select(run => run.Completion).Concat(new[] { stopped })).ConfigureAwait(false);
                wait.Cancel();
            }
        }

        private Task<PollTasksResponse> PollAsync(int free)
        {
            var parameters = new PollTasksParams
            {
                WorkerId = WorkerId,
                TaskTypes = _taskTypes,
                MaxTasks = Math.Min(free, 100),
                VisibilityTimeout = _options.VisibilityTimeout,
                WaitTimeout = _wait,
            };
            var call = new RequestOptions { Timeout = _wait + _clientTimeout };
            return _sagas.PollTasksAsync(parameters, call, _stopping.Token);
        }

        /// <summary>Exponential backoff of failed polls: about 1 s doubling to 30 s, less up to 25% jitter.</summary>
        private TimeSpan PollBackoff(int failures)
        {
            double random;
            lock (_random)
            {
                random = _random.NextDouble();
            }
            return RetryRules.Backoff(failures - 1, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), random);
        }

        /// <summary>
        /// Runs the handler of one task on the thread pool (a handler that blocks never holds up the lease loop) with
        /// its heartbeats, then reports its outcome unless the worker took the task away meanwhile.
        /// </summary>
        private async Task RunTaskAsync(TaskRun run)
        {
            run.Heartbeats = Task.Run(() => HeartbeatLoopAsync(run));
            JsonValue output = null;
            Exception error = null;
            try
            {
                output = await Task.Run(() => _handler(run.Task, run.HandlerCancel.Token)).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                error = e;
            }
            if (!run.Leave(TaskRun.Reporting))
            {
                return; // lost or handed back: outcomes that come later are discarded
            }
            Helpers.CancelQuietly(run.HeartbeatStop, _log);
            Helpers.CancelQuietly(run.HeartbeatCallCancel, _log);
            await run.Heartbeats.ConfigureAwait(false);
            if (error != null && run.HandlerCancel.IsCancellationRequested)
            {
                return; // the error of a handler the worker cancelled is never a failure
            }
            await ReportAsync(run, output, error).ConfigureAwait(false);
        }

        /// <summary>Heartbeats the lease every VisibilityTimeout/3 from the poll's answer until the handler ends.</summary>
        private async Task HeartbeatLoopAsync(TaskRun run)
        {
            var third = TimeSpan.FromTicks(_options.VisibilityTimeout.Ticks / 3);
            var next = run.Arrival + third;
            while (await Helpers.WaitUntilAsync(next, run.HeartbeatStop.Token).ConfigureAwait(false))
            {
                try
                {
                    var call = new RequestOptions { MaxRetries = 0, Timeout = third };
                    await _sagas.HeartbeatTaskAsync(run.Task.TaskId, new HeartbeatTaskParams { WorkerId = WorkerId, VisibilityTimeout = _options.VisibilityTimeout }, call, run.HeartbeatCallCancel.Token).ConfigureAwait(false);
                    next = next + third < Helpers.Now ? Helpers.Now : next + third;
                }
                catch (OperationCanceledException) when (run.HeartbeatStop.IsCancellationRequested)
                {
                    return;
                }
                catch (ConcordException e) when (e is TaskLeaseLostException || e is NotFoundException)
                {
                    if (run.Leave(TaskRun.LeaseLost))
                    {
                        Warn("lease of task " + run.Task.TaskId + " lost: " + e.Message);
                        Helpers.SignalQuietly(run.HandlerCancel, _log);
                    }
                    return;
                }
                catch (ConcordException e) when (Helpers.IsAuthFailure(e))
                {
                    Stop(e);
                    next = Helpers.Now + third;
                }
                catch (Exception e)
                {
                    Warn("heartbeat of task " + run.Task.TaskId + " failed (" + e.Message + "); retrying");
                    next = Helpers.Now + Helpers.Min(TimeSpan.FromTicks(_options.VisibilityTimeout.Ticks / 10), TimeSpan.FromSeconds(1));
                }
            }
        }

        /// <summary>CompleteTask or FailTask, detached from the shutdown, with the SDK's retries; a failure is logged.</summary>
        private async Task ReportAsync(TaskRun run, JsonValue output, Exception error)
        {
            try
            {
                if (error == null)
                {
                    await _sagas.CompleteTaskAsync(run.Task.TaskId, new CompleteTaskParams { WorkerId = WorkerId, Output = output }).ConfigureAwait(false);
                    return;
                }
                var message = error.GetType().Name + ": " + error.Message;
                var failure = new FailTaskParams
                {
                    WorkerId = WorkerId,
                    ErrorMessage = message.Length > MaxErrorMessage ? message.Substring(0, MaxErrorMessage) : message,
                    NonRetryable = error is NonRetryableTaskException,
                };
                await _sagas.FailTaskAsync(run.Task.TaskId, failure).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                if (Helpers.IsAuthFailure(e))
                {
                    Stop(e);
                }
                Warn("reporting task " + run.Task.TaskId + " failed (its lease lapses on the server): " + e.Message);
            }
        }

        /// <summary>
        /// Lets running handlers finish within the grace, then hands back the tasks whose handlers still run, and
        /// waits for the reports of those that finished in time.
        /// </summary>
        private async Task ShutdownAsync(List<TaskRun> running)
        {
            var all = Task.WhenAll(running.Select(run => run.Completion));
            if (await Task.WhenAny(all, Task.Delay(_options.ShutdownGrace)).ConfigureAwait(false) == all)
            {
                return;
            }
            var handBacks = running.Where(run => !run.Completion.IsCompleted).Select(HandBackAsync).ToList();
            await Task.WhenAll(handBacks).ConfigureAwait(false);
            await Task.WhenAll(running.Where(run => run.IsReporting).Select(run => run.Completion)).ConfigureAwait(false);
        }

        /// <summary>Hands a task back: its handler is cancelled and its lease ended at once, never FailTask.</summary>
        private async Task HandBackAsync(TaskRun run)
        {
            if (!run.Leave(TaskRun.HandedBack))
            {
                return; // its handler finished (being reported) or its lease is gone
            }
            Helpers.SignalQuietly(run.HandlerCancel, _log);
            Helpers.CancelQuietly(run.HeartbeatStop, _log);
            try
            {
                if (run.Heartbeats != null)
                {
                    await run.Heartbeats.ConfigureAwait(false);
                }
                await _sagas.HeartbeatTaskAsync(run.Task.TaskId, new HeartbeatTaskParams { WorkerId = WorkerId, VisibilityTimeout = HandBackLease }).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Warn("handing back task " + run.Task.TaskId + " failed (its lease lapses on the server): " + e.Message);
            }
        }

        /// <summary>Stops the worker because of <paramref name="error"/> (the first such error is thrown by RunAsync).</summary>
        private void Stop(Exception error)
        {
            if (Interlocked.CompareExchange(ref _stopError, error, null) == null)
            {
                Warn("stopping: " + error.Message);
            }
            Helpers.CancelQuietly(_stopping, _log);
        }

        private void Warn(string message)
        {
            if (_log != null)
            {
                _log.Warning("concord worker " + WorkerId + ": " + message);
            }
        }

        /// <summary>One leased task and the state of its handler.</summary>
        private sealed class TaskRun
        {
            internal TaskRun(SagaTask task, TimeSpan arrival)
            {
                Task = task;
                Arrival = arrival;
            }

            internal SagaTask Task { get; }

            internal TimeSpan Arrival { get; }

            internal CancellationTokenSource HandlerCancel { get; } = new CancellationTokenSource();

            /// <summary>Ends the heartbeats' waits: when the handler ends, and at a hand-back.</summary>
            internal CancellationTokenSource HeartbeatStop { get; } = new CancellationTokenSource();

            /// <summary>Cancels a heartbeat in flight: only when the handler ends, never at a hand-back.</summary>
            internal CancellationTokenSource HeartbeatCallCancel { get; } = new CancellationTokenSource();

            internal Task Completion { get; set; }

            internal Task Heartbeats { get; set; }

            /// <summary>True once the handler finished and its outcome is being reported.</summary>
            internal bool IsReporting => Volatile.Read(ref _state) == Reporting;

            /// <summary>Moves the task out of Running to <paramref name="next"/>; false when another end came first.</summary>
            internal bool Leave(int next)
            {
                return Interlocked.CompareExchange(ref _state, next, Running) == Running;
            }

            internal const int Running = 0;
            internal const int Reporting = 1;
            internal const int LeaseLost = 2;
            internal const int HandedBack = 3;

            private int _state;
        }
    }
}
