package dev.concord.custom;

import dev.concord.errors.ConcordException;

/**
 * A held lock can no longer be trusted: its renewal failed for good, its local deadline passed, or
 * its release found it gone. Not a catalogue error; the cause, when there is one, is the error that
 * lost it.
 */
public class LockLostException extends ConcordException {
  private static final long serialVersionUID = 1L;

  private final String lockName;

  /** The loss of lock {@code lockName}; {@code cause} may be null ("no answer in time"). */
  public LockLostException(String lockName, Throwable cause) {
    super(
        "lock "
            + lockName
            + " was lost"
            + (cause == null ? ": no renewal answered in time" : ": " + cause.getMessage()),
        cause);
    this.lockName = lockName;
  }

  /** The lock's name. */
  public String lockName() {
    return lockName;
  }
}
