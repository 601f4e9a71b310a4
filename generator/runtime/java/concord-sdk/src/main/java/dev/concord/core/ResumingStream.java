package dev.concord.core;

import com.fasterxml.jackson.databind.JsonNode;
import dev.concord.errors.ApiException;
import dev.concord.errors.ConcordException;
import dev.concord.errors.ConnectionException;
import dev.concord.errors.ErrorCode;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A server stream that resumes over a broken connection: once the stream has seen an id ({@link
 * MessageStream#lastEventId()}), a connection error, or an in-band {@code UNAVAILABLE} that ends
 * the stream (a draining server, an engine outage), reopens the same call with {@code
 * Last-Event-ID}, and reading goes on with the next message. Reopening follows the client's retry
 * policy: at most {@code maxRetries} consecutive failed attempts (counted from zero again once a
 * message arrives), with backoff and {@code Retry-After}. Closing it, also while it waits to reopen
 * or reopens, ends it without an error (docs/sdk-helpers.md §3).
 */
final class ResumingStream implements MessageStream {
  /** The request header that resumes a Server-Sent Events stream after an id. */
  static final String LAST_EVENT_ID = "Last-Event-ID";

  private final WireCall call;
  private final Transport transport;
  private final RetryPolicy retries;
  private final int maxRetries;
  private final Object lock = new Object();
  private final CountDownLatch closing = new CountDownLatch(1);
  private volatile MessageStream current;
  private volatile boolean closed;
  private Thread reopening;
  private boolean interruptedByClose;
  private String resumeId;
  private int failures;

  /** Reads {@code opened}, the stream of {@code call}, reopening it through {@code transport}. */
  ResumingStream(
      WireCall call, MessageStream opened, Transport transport, RetryPolicy retries, int max) {
    this.call = call;
    this.current = opened;
    this.transport = transport;
    this.retries = retries;
    this.maxRetries = max;
  }

  @Override
  public JsonNode next() {
    while (!closed) {
      MessageStream source = current;
      try {
        JsonNode message = source.next();
        if (message != null) {
          failures = 0;
        }
        return message;
      } catch (ConnectionException | ApiException broke) {
        if (broke instanceof ApiException ended && !ended.code().equals(ErrorCode.UNAVAILABLE)) {
          throw ended;
        }
        resumeId = source.lastEventId().orElse(resumeId);
        if (closed || !resume(broke)) {
          return null;
        }
      }
    }
    return null;
  }

  /**
   * Reopens after {@code broke} (a broken connection, or the server's in-band UNAVAILABLE): true
   * once a stream is open again, false when the caller closed this stream meanwhile (or interrupted
   * its thread); throws when it cannot or may not reopen.
   */
  private boolean resume(ConcordException broke) {
    if (resumeId == null || maxRetries <= 0) {
      throw broke;
    }
    ConcordException failure = broke;
    while (failures < maxRetries) {
      Duration delay = retries.delay(failures, failure, Instant.now());
      ConcordException cause = failure;
      ClientCore.log(
          Level.INFO, () -> rpc() + ": resuming in " + delay.toMillis() + " ms: " + cause);
      if (!sleep(delay)) {
        return false;
      }
      failures++;
      try {
        return reopen();
      } catch (ConcordException e) {
        if (closed || Thread.currentThread().isInterrupted()) {
          close();
          return false;
        }
        if (!RetryPolicy.isRetryable(e)) {
          throw e;
        }
        failure = e;
      }
    }
    throw failure;
  }

  /** Waits before a reopening; false when the stream was closed or the thread interrupted. */
  private boolean sleep(Duration delay) {
    try {
      return !closing.await(delay.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      close();
      return false;
    }
  }

  /** One reopening from the last id; false when the stream was closed meanwhile. */
  private boolean reopen() {
    WireCall again = call.withHeader(LAST_EVENT_ID, resumeId);
    synchronized (lock) {
      if (closed) {
        return false;
      }
      reopening = Thread.currentThread();
    }
    MessageStream opened = null;
    try {
      ClientCore.log(Level.DEBUG, () -> rpc() + ": reopening after id " + resumeId);
      opened = transport.open(again);
    } finally {
      opened = settle(opened);
    }
    return opened != null;
  }

  /**
   * Ends a reopening: the new stream becomes the current one, unless the stream was closed
   * meanwhile (then it is closed, and null returned); clears the interrupt {@link #close} sent.
   */
  private MessageStream settle(MessageStream opened) {
    synchronized (lock) {
      reopening = null;
      if (interruptedByClose) {
        interruptedByClose = false;
        Thread.interrupted();
      }
      if (closed) {
        if (opened != null) {
          opened.close();
        }
        return null;
      }
      if (opened != null) {
        current = opened;
      }
      return opened;
    }
  }

  private String rpc() {
    return call.operation().rpc();
  }

  /** Ends the stream, or the wait or request to reopen it; safe to call more than once. */
  @Override
  public void close() {
    MessageStream open;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      open = current;
      if (reopening != null && reopening != Thread.currentThread()) {
        interruptedByClose = true;
        reopening.interrupt();
      }
    }
    closing.countDown();
    open.close();
  }
}
