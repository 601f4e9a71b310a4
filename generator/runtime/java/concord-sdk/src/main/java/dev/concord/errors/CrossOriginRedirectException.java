package dev.concord.errors;

/**
 * The server redirected a call to another origin (scheme, host or port). The SDK does not follow
 * it, so that the credential never leaves the configured origin; configure that URL instead.
 */
public class CrossOriginRedirectException extends ConcordException {
  private static final long serialVersionUID = 1L;

  private final String location;

  /** A refused redirect to {@code location}. */
  public CrossOriginRedirectException(String rpc, int status, String location) {
    super(rpc + ": HTTP " + status + " redirect to another origin not followed: " + location);
    this.location = location;
  }

  /** Where the server redirected to. */
  public String location() {
    return location;
  }
}
