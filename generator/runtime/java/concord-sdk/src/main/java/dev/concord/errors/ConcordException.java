package dev.concord.errors;

/** Base of every exception the Concord SDK throws; unchecked. */
public class ConcordException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** An exception with a message. */
  public ConcordException(String message) {
    super(message);
  }

  /** An exception with a message and its cause. */
  public ConcordException(String message, Throwable cause) {
    super(message, cause);
  }
}
