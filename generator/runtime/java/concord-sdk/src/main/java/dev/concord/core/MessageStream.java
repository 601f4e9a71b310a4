package dev.concord.core;

import com.fasterxml.jackson.databind.JsonNode;

/** A server stream opened by a {@link Transport}: messages as contract JSON. */
public interface MessageStream extends AutoCloseable {
  /**
   * Blocks for the next message; null at the normal end of the stream. Failures are thrown as
   * {@link dev.concord.errors.ConcordException}s.
   */
  JsonNode next();

  /** Ends the stream; safe to call more than once. */
  @Override
  void close();
}
