package dev.concord.custom;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Options of {@link LocksResource#hold(String, HoldOptions)} (docs/sdk-helpers.md §1.1): owner, TTL
 * (default 30 s), an optional wait in line, and auto-renewal (default on).
 */
public final class HoldOptions {
  private static final Duration DEFAULT_TTL = Duration.ofSeconds(30);

  private final String owner;
  private final Duration ttl;
  private final Duration waitTimeout;
  private final boolean autoRenew;

  private HoldOptions(Builder builder) {
    this.owner = builder.owner;
    this.ttl = builder.ttl;
    this.waitTimeout = builder.waitTimeout;
    this.autoRenew = builder.autoRenew;
  }

  /** The defaults: a fresh owner, a 30 s TTL, no wait, auto-renewal on. */
  public static HoldOptions defaults() {
    return builder().build();
  }

  /** A builder with the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** The holder's identity; empty for a fresh {@code <host>-<pid>-<random>} per hold. */
  public Optional<String> owner() {
    return Optional.ofNullable(owner);
  }

  /** The TTL of the grant and of every renewal. */
  public Duration ttl() {
    return ttl;
  }

  /** How long to wait in line for a held lock, if at all. */
  public Optional<Duration> waitTimeout() {
    return Optional.ofNullable(waitTimeout);
  }

  /** Whether the hold renews itself in the background. */
  public boolean autoRenew() {
    return autoRenew;
  }

  /** Builds {@link HoldOptions}. */
  public static final class Builder {
    private String owner;
    private Duration ttl = DEFAULT_TTL;
    private Duration waitTimeout;
    private boolean autoRenew = true;

    private Builder() {}

    /** The holder's identity (default: fresh per hold). */
    public Builder owner(String owner) {
      this.owner = Objects.requireNonNull(owner, "owner");
      return this;
    }

    /** The TTL of the grant and of every renewal (default 30 s). */
    public Builder ttl(Duration ttl) {
      if (ttl.isNegative() || ttl.isZero()) {
        throw new IllegalArgumentException("ttl must be positive: " + ttl);
      }
      this.ttl = ttl;
      return this;
    }

    /** Waits in line up to this long when another owner holds the lock (default: fail at once). */
    public Builder waitTimeout(Duration waitTimeout) {
      if (waitTimeout != null && waitTimeout.isNegative()) {
        throw new IllegalArgumentException("waitTimeout must not be negative: " + waitTimeout);
      }
      this.waitTimeout = waitTimeout;
      return this;
    }

    /** Renew in the background (default true); off, the grant simply lasts the TTL. */
    public Builder autoRenew(boolean autoRenew) {
      this.autoRenew = autoRenew;
      return this;
    }

    /** The options. */
    public HoldOptions build() {
      return new HoldOptions(this);
    }
  }
}
