package dev.concord.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.concord.core.Json;
import dev.concord.core.JsonModel;
import dev.concord.core.ServerStream;
import dev.concord.errors.ConcordException;
import java.util.Iterator;
import java.util.OptionalLong;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/** How much of a server stream to collect: {@code take} messages, or what came in time. */
final class StreamSpec {
  private static final ScheduledExecutorService CLOSER =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "stream-closer");
            t.setDaemon(true);
            return t;
          });

  private final int take;
  private final long timeoutMs;
  private final Runnable opened;

  /**
   * The call's {@code stream}; {@code cancelAfterMs} (the call's {@code cancel_after_ms}) closes
   * the stream earlier than its timeout, as the caller would; {@code opened} announces an open
   * stream (a stream_open notice).
   */
  StreamSpec(JsonNode spec, OptionalLong cancelAfterMs, Runnable opened) {
    this.take = spec == null ? 0 : spec.path("take").asInt(0);
    long timeout = spec == null ? 5000 : spec.path("timeout_ms").asLong(5000);
    this.timeoutMs = Math.min(timeout, cancelAfterMs.orElse(timeout));
    this.opened = opened;
  }

  /** Up to {@code take} messages, or those that arrived before the timeout; then closes. */
  JsonNode collect(ServerStream<? extends JsonModel> stream) {
    opened.run(); // the SDK opened the stream eagerly: the server accepted the subscription
    ArrayNode messages = Json.MAPPER.createArrayNode();
    AtomicBoolean timedOut = new AtomicBoolean();
    ScheduledFuture<?> closer =
        CLOSER.schedule(
            () -> {
              timedOut.set(true);
              stream.close();
            },
            timeoutMs,
            TimeUnit.MILLISECONDS);
    try (stream) {
      Iterator<? extends JsonModel> it = stream.iterator();
      while ((take <= 0 || messages.size() < take) && it.hasNext()) {
        messages.add(it.next().toJson());
      }
    } catch (ConcordException e) {
      if (!timedOut.get()) {
        throw e;
      }
    } finally {
      closer.cancel(false);
    }
    ObjectNode result = Json.object();
    result.set("messages", messages);
    return result;
  }
}
