package dev.concord.custom;

import com.fasterxml.jackson.databind.JsonNode;
import dev.concord.models.Task;

/** Runs one leased saga task for a {@link SagaWorker}. */
@FunctionalInterface
public interface TaskHandler {
  /**
   * The task's output: {@code null} completes it without output, {@code NullNode} with a JSON
   * {@code null}. Throw {@link NonRetryableTaskException} to fail the step for good; any other
   * exception fails this attempt and the step's retry policy decides. The worker interrupts the
   * thread when the task's lease is lost or the shutdown grace ends.
   */
  JsonNode handle(Task task) throws Exception;
}
