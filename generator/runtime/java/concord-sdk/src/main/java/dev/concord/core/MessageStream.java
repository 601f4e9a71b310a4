package dev.concord.core;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Optional;

/** A server stream opened by a {@link Transport}: messages as contract JSON. */
public interface MessageStream extends AutoCloseable {
  /**
   * Blocks for the next message; null at the normal end of the stream. Failures are thrown as
   * {@link dev.concord.errors.ConcordException}s.
   */
  JsonNode next();

  /**
   * The id to resume from after the connection broke (the last Server-Sent Events {@code id:});
   * empty when the stream cannot resume: no id seen yet, or a transport without resumption.
   */
  default Optional<String> lastEventId() {
    return Optional.empty();
  }

  /** Ends the stream; safe to call more than once. */
  @Override
  void close();
}
