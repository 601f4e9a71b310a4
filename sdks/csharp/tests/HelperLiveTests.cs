using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Concord;
using NUnit.Framework;

namespace Concord.Tests
{
    /// <summary>The lock-hold and saga-worker helpers against a live server (docs/sdk-helpers.md).</summary>
    [TestFixture]
    public class HelperLiveTests
    {
        private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
        private ConcordClient _client;
        private string _run;

        [SetUp]
        public void SetUp()
        {
            _client = new ConcordClient(LiveTests.LiveOptions());
            _run = "csh-" + Guid.NewGuid().ToString("N").Substring(0, 10);
        }

        [TearDown]
        public void TearDown()
        {
            if (_client != null)
            {
                _client.Dispose();
            }
        }

        /// <summary>Waits (polling) until <paramref name="condition"/> holds, failing after a generous bound.</summary>
        private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
        {
            var giveUp = DateTime.UtcNow + Patience;
            while (!await condition())
            {
                if (DateTime.UtcNow > giveUp)
                {
                    Assert.Fail("never happened: " + what);
                }
                await Task.Delay(50);
            }
        }

        [Test]
        public async Task TheTokenGivenToHoldAsyncAbortsOnlyTheAcquire()
        {
            var name = _run + "-token";
            using (var cancel = new CancellationTokenSource())
            using (var held = await _client.Locks.HoldAsync(name, new HoldOptions { Ttl = TimeSpan.FromSeconds(3) }, cancel.Token))
            {
                cancel.Cancel();
                await Task.Delay(TimeSpan.FromSeconds(4));
                Assert.IsFalse(held.IsLost, "renewals go on after the acquire's token was cancelled");
                Assert.IsFalse(held.LostToken.IsCancellationRequested);
                Assert.AreEqual(held.FencingToken, _client.Locks.Get(name).Lock.FencingToken);
            }
            Assert.Throws<NotFoundException>(() => _client.Locks.Get(name));
        }

        [Test]
        public async Task AHoldKeepsOthersOutAndReleasesOnScopeExit()
        {
            var name = _run + "-hold";
            long token;
            using (var held = await _client.Locks.HoldAsync(name, new HoldOptions { Ttl = TimeSpan.FromSeconds(30) }))
            {
                token = held.FencingToken;
                Assert.That(token, Is.GreaterThan(0));
                StringAssert.Contains("-", held.Owner);
                Assert.Throws<LockConflictException>(() => _client.Locks.Acquire(name, new AcquireLockParams { Owner = "other", Ttl = TimeSpan.FromSeconds(30) }));
            }
            var next = _client.Locks.Acquire(name, new AcquireLockParams { Owner = "other", Ttl = TimeSpan.FromSeconds(30) });
            Assert.That(next.Lock.FencingToken, Is.GreaterThan(token));
        }

        [Test]
        public async Task AutoRenewalOutlivesTheTtl()
        {
            var name = _run + "-renew";
            using (var held = await _client.Locks.HoldAsync(name, new HoldOptions { Ttl = TimeSpan.FromSeconds(1.5) }))
            {
                var first = held.Lock.ExpiresAt;
                int changes = 0;
                var last = first;
                await EventuallyAsync(() =>
                {
                    if (held.Lock.ExpiresAt != last)
                    {
                        changes++;
                        last = held.Lock.ExpiresAt;
                    }
                    return Task.FromResult(changes >= 4);
                }, "four renewals");
                Assert.IsFalse(held.IsLost);
                Assert.AreEqual(held.Owner, (await _client.Locks.GetAsync(name)).Lock.Owner);
            }
        }

        [Test]
        public async Task ALostLockCancelsTheTokenAndDisposeThrows()
        {
            var name = _run + "-lost";
            var held = await _client.Locks.HoldAsync(name, new HoldOptions { Ttl = TimeSpan.FromSeconds(1.5) });
            var lost = new TaskCompletionSource<bool>();
            held.LostToken.Register(() => lost.TrySetResult(true));
            await _client.Locks.ReleaseAsync(name, new ReleaseLockParams { Owner = held.Owner, FencingToken = held.FencingToken });
            Assert.AreSame(lost.Task, await Task.WhenAny(lost.Task, Task.Delay(Patience)));
            Assert.IsTrue(held.IsLost);
            var error = Assert.Throws<LockLostException>(() => held.Dispose());
            Assert.AreEqual(name, error.Name);
            Assert.IsInstanceOf<LockNotHeldException>(error.InnerException);
            Assert.DoesNotThrow(() => held.Dispose());
        }

        [Test]
        public async Task AHoldWaitsInLine()
        {
            var name = _run + "-line";
            var first = await _client.Locks.HoldAsync(name, new HoldOptions { Ttl = TimeSpan.FromSeconds(30) });
            var waiting = _client.Locks.HoldAsync(name, new HoldOptions { Ttl = TimeSpan.FromSeconds(30), WaitTimeout = TimeSpan.FromSeconds(60) });
            await EventuallyAsync(async () => (await _client.Locks.GetAsync(name)).Lock.Owner == first.Owner, "the first hold");
            first.Dispose();
            using (var second = await waiting)
            {
                Assert.That(second.FencingToken, Is.GreaterThan(first.FencingToken));
                Assert.IsFalse(second.IsLost);
            }
        }

        [Test]
        public async Task TheExplicitReleaseReportsAFinalRelease()
        {
            var held = _client.Locks.Hold(_run + "-explicit", new HoldOptions { Ttl = TimeSpan.FromSeconds(30), AutoRenew = false });
            await held.RenewAsync(TimeSpan.FromSeconds(20));
            Assert.AreEqual(TimeSpan.FromSeconds(20), held.Lock.Ttl);
            await held.ReleaseAsync();
            Assert.DoesNotThrow(() => held.Dispose());
            Assert.Throws<NotFoundException>(() => _client.Locks.Get(_run + "-explicit"));
        }

        private async Task<string> StartSagaAsync(string taskType)
        {
            var sagaId = _run + "-saga";
            var step = new StepDefinition { Name = "work", Action = new StepAction { Task = new WorkerTask { TaskType = taskType } } };
            step.Retry = new RetryPolicy { MaxAttempts = 3, InitialBackoff = TimeSpan.FromMilliseconds(100) };
            var definition = new SagaDefinition { Name = "helper-test" };
            definition.Steps.Add(step);
            await _client.Sagas.StartAsync(new StartSagaParams { SagaId = sagaId, Definition = definition, Input = JsonValue.FromObject(new { n = 1 }) });
            return sagaId;
        }

        [Test]
        public async Task AWorkerCompletesTasksWithTheHandlersOutput()
        {
            var taskType = _run + ".work";
            var sagaId = await StartSagaAsync(taskType);
            var worker = _client.Sagas.Worker(new[] { taskType }, (task, token) => Task.FromResult(JsonValue.FromObject(new { doubled = task.Input.ToObject<Newtonsoft.Json.Linq.JObject>()["n"].ToObject<int>() * 2 })), new SagaWorkerOptions { WaitTimeout = TimeSpan.FromSeconds(2) });
            using (var stop = new CancellationTokenSource())
            {
                var running = worker.RunAsync(stop.Token);
                await EventuallyAsync(async () => (await _client.Sagas.GetAsync(sagaId)).Saga.State == SagaState.Completed, "the saga completes");
                stop.Cancel();
                await running;
            }
            var saga = (await _client.Sagas.GetAsync(sagaId)).Saga;
            Assert.AreEqual("{\"doubled\":2}", saga.Steps[0].Output.ToString());
        }

        [Test]
        public async Task ANonRetryableErrorFailsTheStepAtOnce()
        {
            var taskType = _run + ".fail";
            var sagaId = await StartSagaAsync(taskType);
            int calls = 0;
            var worker = _client.Sagas.Worker(new[] { taskType }, (task, token) =>
            {
                Interlocked.Increment(ref calls);
                throw new NonRetryableTaskException("card declined");
            }, new SagaWorkerOptions { WaitTimeout = TimeSpan.FromSeconds(2) });
            using (var stop = new CancellationTokenSource())
            {
                var running = worker.RunAsync(stop.Token);
                await EventuallyAsync(async () => (await _client.Sagas.GetAsync(sagaId)).Saga.Steps[0].State == StepState.Failed, "the step fails");
                stop.Cancel();
                await running;
            }
            var step = (await _client.Sagas.GetAsync(sagaId)).Saga.Steps[0];
            Assert.AreEqual(1, calls);
            Assert.IsTrue(step.History.Any(e => e.Type == StepEventType.Failed && e.Message.Contains("NonRetryableTaskException: card declined")));
        }

        [Test]
        public async Task ShutdownHandsBackARunningTaskWithoutFailingIt()
        {
            var taskType = _run + ".slow";
            var sagaId = await StartSagaAsync(taskType);
            var started = new TaskCompletionSource<bool>();
            var cancelled = new TaskCompletionSource<bool>();
            var worker = _client.Sagas.Worker(new[] { taskType }, async (task, token) =>
            {
                started.TrySetResult(true);
                var never = new TaskCompletionSource<bool>();
                using (token.Register(() => cancelled.TrySetResult(true)))
                {
                    await never.Task;
                }
                return null;
            }, new SagaWorkerOptions { WaitTimeout = TimeSpan.FromSeconds(2), ShutdownGrace = TimeSpan.FromMilliseconds(200) });
            using (var stop = new CancellationTokenSource())
            {
                var running = worker.RunAsync(stop.Token);
                Assert.AreSame(started.Task, await Task.WhenAny(started.Task, Task.Delay(Patience)));
                stop.Cancel();
                Assert.AreSame(running, await Task.WhenAny(running, Task.Delay(Patience)));
            }
            Assert.IsTrue(cancelled.Task.IsCompleted);
            var again = await _client.Sagas.PollTasksAsync(new PollTasksParams { WorkerId = "second", TaskTypes = { taskType }, WaitTimeout = TimeSpan.FromSeconds(30) });
            Assert.AreEqual(sagaId, again.Tasks.Single().SagaId);
            var history = (await _client.Sagas.GetAsync(sagaId)).Saga.Steps[0].History;
            Assert.IsFalse(history.Any(e => e.Type == StepEventType.Failed), "a handed-back task is never failed");
        }
    }
}
