package dev.concord.core;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.function.Function;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * The messages of a server stream (Server-Sent Events over REST, a server stream over gRPC), read
 * as they arrive. Close it when done, best with try-with-resources:
 *
 * <pre>{@code
 * try (ServerStream<WatchLocksResponse> changes = client.locks().watch(params)) {
 *   for (WatchLocksResponse change : changes) { ... }
 * }
 * }</pre>
 *
 * <p>It can be iterated once. A failure of the stream is thrown from {@code hasNext()} as a {@link
 * dev.concord.errors.ConcordException}.
 *
 * @param <T> the message type
 */
public final class ServerStream<T> implements Iterable<T>, AutoCloseable {
  private final MessageStream source;
  private final Function<JsonNode, T> decode;
  private boolean iterated;
  private T pending;
  private boolean done;

  /** A stream of messages decoded from {@code source}. */
  public ServerStream(MessageStream source, Function<JsonNode, T> decode) {
    this.source = source;
    this.decode = decode;
  }

  /** The messages; a stream can be iterated once. */
  @Override
  public synchronized Iterator<T> iterator() {
    if (iterated) {
      throw new IllegalStateException("a ServerStream can be iterated only once");
    }
    iterated = true;
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return advance();
      }

      @Override
      public T next() {
        if (!advance()) {
          throw new NoSuchElementException();
        }
        T next = pending;
        pending = null;
        return next;
      }
    };
  }

  /** The messages as a sequential {@link Stream} that closes this stream when closed. */
  public Stream<T> stream() {
    Spliterator<T> split = Spliterators.spliteratorUnknownSize(iterator(), Spliterator.ORDERED);
    return StreamSupport.stream(split, false).onClose(this::close);
  }

  private synchronized boolean advance() {
    if (pending != null) {
      return true;
    }
    if (done) {
      return false;
    }
    JsonNode message;
    try {
      message = source.next();
    } catch (RuntimeException e) {
      done = true;
      source.close();
      throw e;
    }
    if (message == null) {
      done = true;
      return false;
    }
    pending = decode.apply(message);
    return true;
  }

  /** Ends the stream (the server sees the client go); safe to call more than once. */
  @Override
  public void close() {
    source.close();
  }
}
