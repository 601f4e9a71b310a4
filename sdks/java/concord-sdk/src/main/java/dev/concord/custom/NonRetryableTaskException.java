package dev.concord.custom;

/** Thrown by a {@link TaskHandler}: the task failed for good, its step is not retried. */
public class NonRetryableTaskException extends Exception {
  private static final long serialVersionUID = 1L;

  /** A non-retryable failure with a message. */
  public NonRetryableTaskException(String message) {
    super(message);
  }

  /** A non-retryable failure with a message and its cause. */
  public NonRetryableTaskException(String message, Throwable cause) {
    super(message, cause);
  }
}
