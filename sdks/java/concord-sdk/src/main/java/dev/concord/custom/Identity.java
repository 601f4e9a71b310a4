package dev.concord.custom;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.SecureRandom;

/** Default identities of holds and workers: {@code <host>-<pid>-<8 random hex digits>}. */
final class Identity {
  private static final SecureRandom RANDOM = new SecureRandom();

  private Identity() {}

  /** A fresh identity. */
  static String fresh() {
    return host()
        + "-"
        + ProcessHandle.current().pid()
        + "-"
        + String.format("%08x", RANDOM.nextInt());
  }

  private static String host() {
    String env = System.getenv("HOSTNAME");
    if (env != null && !env.isBlank()) {
      return env.trim();
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }
}
