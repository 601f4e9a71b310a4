package dev.concord.errors;

/**
 * A call that got no answer from the server: the connection failed or broke, or the attempt timed
 * out ({@link #isTimeout()}). Retried like a 503 while retries are left.
 */
public class ConnectionException extends ConcordException {
  private static final long serialVersionUID = 1L;

  private final boolean timeout;

  /** A connection failure; {@code timeout} tells whether the attempt ran out of time. */
  public ConnectionException(String message, boolean timeout, Throwable cause) {
    super(message, cause);
    this.timeout = timeout;
  }

  /** True when the attempt timed out (per-call or client timeout). */
  public boolean isTimeout() {
    return timeout;
  }
}
