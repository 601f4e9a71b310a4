package dev.concord.custom;

import dev.concord.core.ClientCore;
import dev.concord.resources.LocksAsyncResource;

/**
 * The locks resource with the hold helper: {@code try (HeldLock lock = client.locks().hold("name"))
 * { ... lock.fencingToken() ... }}.
 */
public class LocksResource extends dev.concord.resources.LocksResource {
  private final LocksAsyncResource async;

  /** The resource over a client's core (the client makes it). */
  public LocksResource(ClientCore core) {
    super(core);
    this.async = new LocksAsyncResource(core);
  }

  /** Holds {@code name} with the default options (see {@link #hold(String, HoldOptions)}). */
  public HeldLock hold(String name) {
    return hold(name, HoldOptions.defaults());
  }

  /**
   * Acquires {@code name} and holds it until the returned {@link HeldLock} is closed: renewed in
   * the background (unless {@code autoRenew(false)}), released on close, with a lost signal
   * (docs/sdk-helpers.md §1). A lock held by another owner is a {@link
   * dev.concord.errors.LockConflictException} (after {@code waitTimeout}, when given).
   */
  public HeldLock hold(String name, HoldOptions options) {
    return HeldLock.acquire(this, async, core().config(), name, options);
  }
}
