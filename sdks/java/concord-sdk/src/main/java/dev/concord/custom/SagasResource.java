package dev.concord.custom;

import dev.concord.core.ClientCore;
import dev.concord.resources.SagasAsyncResource;
import java.util.List;

/** The sagas resource with the task worker: {@code client.sagas().worker(...)}. */
public class SagasResource extends dev.concord.resources.SagasResource {
  private final SagasAsyncResource async;

  /** The resource over a client's core (the client makes it). */
  public SagasResource(ClientCore core) {
    super(core);
    this.async = new SagasAsyncResource(core);
  }

  /** A worker of {@code taskTypes} with the default options; start it with {@code run()}. */
  public SagaWorker worker(List<String> taskTypes, TaskHandler handler) {
    return worker(WorkerOptions.builder().taskTypes(taskTypes).handler(handler).build());
  }

  /** A worker with these options (docs/sdk-helpers.md §2); start it with {@code run()}. */
  public SagaWorker worker(WorkerOptions options) {
    return new SagaWorker(this, async, core().config(), options);
  }
}
