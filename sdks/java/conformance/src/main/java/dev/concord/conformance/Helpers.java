package dev.concord.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.concord.ConcordClient;
import dev.concord.core.Json;
import dev.concord.custom.HeldLock;
import dev.concord.custom.HoldOptions;
import dev.concord.custom.LockLostException;
import dev.concord.custom.NonRetryableTaskException;
import dev.concord.custom.SagaWorker;
import dev.concord.custom.TaskHandler;
import dev.concord.custom.WorkerOptions;
import dev.concord.errors.ApiException;
import dev.concord.models.Lock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The helper ops of docs/conformance.md ("Helper operations"): {@code helper.HoldLock} runs a block
 * inside {@code try (HeldLock lock = client.locks().hold(...))}, {@code helper.RunWorker} runs
 * {@code client.sagas().worker(...)} with a handler scripted by the task's input. Only the SDK's
 * public API is used.
 */
final class Helpers {
  private static final ScheduledExecutorService TIMERS =
      Executors.newScheduledThreadPool(
          1,
          r -> {
            Thread t = new Thread(r, "helper-timer");
            t.setDaemon(true);
            return t;
          });

  private Helpers() {}

  /** The op table with the helper ops added. */
  static Map<String, Op> addTo(Map<String, Op> contract) {
    Map<String, Op> ops = new HashMap<>(contract);
    ops.put("helper.HoldLock", (c, in, s, o) -> holdLock(c, in));
    ops.put("helper.RunWorker", (c, in, s, o) -> runWorker(c, in));
    return ops;
  }

  /** The error a block throws when the case says {@code end: raise}. */
  private static final class BodyError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BodyError() {
      super("the block failed");
    }
  }

  private static HoldOptions holdOptions(JsonNode in) {
    HoldOptions.Builder options =
        HoldOptions.builder()
            .ttl(Json.duration(in, "ttl"))
            .autoRenew(!in.path("auto_renew").isBoolean() || in.get("auto_renew").asBoolean());
    if (in.hasNonNull("owner")) {
      options.owner(in.get("owner").asText());
    }
    if (in.hasNonNull("wait_timeout")) {
      options.waitTimeout(Json.duration(in, "wait_timeout"));
    }
    return options.build();
  }

  /** {@code helper.HoldLock}: a block of {@code body_ms} inside the SDK's hold. */
  static JsonNode holdLock(ConcordClient client, JsonNode in) {
    ObjectNode result = Json.object();
    result.put("lost_signalled", false);
    result.put("exit", "ok");
    String end = in.path("end").asText("return");
    Thread caller = Thread.currentThread();
    try (HeldLock lock = client.locks().hold(in.path("name").asText(), holdOptions(in))) {
      result.set("lock", lock.lock().toJson());
      long bodyMs = in.path("body_ms").asLong(0);
      if (end.equals("cancel")) {
        TIMERS.schedule(caller::interrupt, bodyMs, TimeUnit.MILLISECONDS);
        new CountDownLatch(1).await(); // the block's work, which only the caller's interrupt ends
      }
      runBlock(lock, bodyMs, in.path("end_on_lost").asBoolean(false));
      if (lock.isLost()) {
        result.put("lost_signalled", true);
        result.put("held_when_lost", stillHeld(client, lock));
      }
      if (end.equals("raise")) {
        throw new BodyError();
      }
    } catch (LockLostException e) {
      result.put("exit", "lock_lost");
      result.set("lost_cause", causeOf(e.getCause()));
    } catch (BodyError e) {
      result.put("exit", "body_error");
    } catch (InterruptedException e) {
      result.put("exit", "cancelled");
    } finally {
      Thread.interrupted(); // the caller's cancellation ends with the op
    }
    return result;
  }

  /** Sleeps {@code bodyMs}, or until the lost signal with {@code endOnLost}. */
  private static void runBlock(HeldLock lock, long bodyMs, boolean endOnLost)
      throws InterruptedException {
    if (!endOnLost) {
      Thread.sleep(bodyMs);
      return;
    }
    CountDownLatch lost = new CountDownLatch(1);
    lock.onLost(lost::countDown);
    lost.await(bodyMs, TimeUnit.MILLISECONDS);
  }

  private static boolean stillHeld(ConcordClient client, HeldLock lock) {
    try {
      Lock current = client.locks().get(lock.name()).lock().orElse(null);
      return current != null
          && current.owner().equals(lock.owner())
          && current.fencingToken() == lock.fencingToken();
    } catch (ApiException e) {
      return false;
    }
  }

  /** The protocol's {@code lost_cause} of a lock-lost error's cause. */
  private static JsonNode causeOf(Throwable cause) {
    if (cause == null) {
      return Json.MAPPER.nullNode();
    }
    ObjectNode out = Json.object();
    if (cause instanceof ApiException) {
      out.put("code", ((ApiException) cause).code().value());
    } else {
      out.put("kind", "connection");
    }
    return out;
  }

  /** What the scripted handler saw, and when to stop the worker. */
  private static final class Tally {
    private final JsonNode in;
    private final Runnable stop;
    private int started;
    private int finished;
    private int running;
    private int maxConcurrent;
    private final List<JsonNode> tasks = new ArrayList<>();

    Tally(JsonNode in, Runnable stop) {
      this.in = in;
      this.stop = stop;
    }

    void begin(dev.concord.models.Task task) {
      boolean stopNow;
      synchronized (this) {
        started++;
        running++;
        maxConcurrent = Math.max(maxConcurrent, running);
        ObjectNode seen = Json.object();
        ObjectNode json = task.toJson();
        for (String field : List.of("saga_id", "step_name", "phase", "attempt")) {
          seen.set(field, json.get(field));
        }
        tasks.add(seen);
        stopNow = in.has("stop_after_started") && started >= in.get("stop_after_started").asInt();
      }
      if (stopNow) {
        stop.run();
      }
    }

    void end(boolean onItsOwn) {
      boolean stopNow;
      synchronized (this) {
        running--;
        if (!onItsOwn) {
          return;
        }
        finished++;
        stopNow =
            in.has("stop_after_finished") && finished >= in.get("stop_after_finished").asInt();
      }
      if (stopNow) {
        stop.run();
      }
    }

    synchronized ObjectNode result() {
      ObjectNode out = Json.object();
      out.put("started", started);
      out.put("finished", finished);
      out.put("max_concurrent", maxConcurrent);
      out.set("tasks", Json.MAPPER.valueToTree(tasks));
      return out;
    }
  }

  /** The task input's {@code script} entry for the task's attempt (empty without one). */
  private static JsonNode scriptEntry(dev.concord.models.Task task) {
    JsonNode script = task.input().map(input -> input.path("script")).orElse(null);
    if (script == null || !script.isArray() || script.isEmpty()) {
      return Json.object();
    }
    return script.get(Math.min(task.attempt(), script.size()) - 1);
  }

  /** The handler of docs/conformance.md: sleep, then fail or return as the script says. */
  private static TaskHandler scripted(Tally tally) {
    return task -> {
      tally.begin(task);
      JsonNode entry = scriptEntry(task);
      try {
        Thread.sleep(entry.path("sleep_ms").asLong(0));
      } catch (InterruptedException e) {
        tally.end(false); // the worker cancelled the handler
        throw e;
      }
      tally.end(true);
      String failure = entry.path("fail").asText("");
      if (!failure.isEmpty()) {
        if (entry.path("non_retryable").asBoolean(false)) {
          throw new NonRetryableTaskException(failure);
        }
        throw new IllegalStateException(failure);
      }
      if (entry.has("output")) {
        return entry.get("output");
      }
      ObjectNode output = Json.object();
      output.put("step", task.stepName());
      output.put("attempt", task.attempt());
      return output;
    };
  }

  private static WorkerOptions workerOptions(JsonNode in, TaskHandler handler) {
    List<String> types = new ArrayList<>();
    in.path("task_types").forEach(type -> types.add(type.asText()));
    WorkerOptions.Builder options = WorkerOptions.builder().taskTypes(types).handler(handler);
    if (in.path("concurrency").asInt(0) > 0) {
      options.concurrency(in.get("concurrency").asInt());
    }
    if (in.hasNonNull("visibility_timeout")) {
      options.visibilityTimeout(Json.duration(in, "visibility_timeout"));
    }
    if (in.hasNonNull("wait_timeout")) {
      options.waitTimeout(Json.duration(in, "wait_timeout"));
    }
    if (in.hasNonNull("shutdown_grace")) {
      options.shutdownGrace(Json.duration(in, "shutdown_grace"));
    }
    return options.build();
  }

  /** Runs {@code task} on a thread of its own ({@code close()} waits for the worker's run). */
  private static void startDaemon(Runnable task) {
    Thread thread = new Thread(task, "helper-stop");
    thread.setDaemon(true);
    thread.start();
  }

  /** {@code helper.RunWorker}: the SDK's worker until a stop condition, then {@code close()}. */
  static JsonNode runWorker(ConcordClient client, JsonNode in) {
    SagaWorker[] worker = new SagaWorker[1];
    Runnable stop = () -> startDaemon(() -> worker[0].close());
    Tally tally = new Tally(in, stop);
    worker[0] = client.sagas().worker(workerOptions(in, scripted(tally)));
    ScheduledFuture<?> limit =
        TIMERS.schedule(stop, in.path("max_ms").asLong(30_000), TimeUnit.MILLISECONDS);
    try {
      worker[0].run();
    } finally {
      limit.cancel(false);
    }
    return tally.result();
  }
}
