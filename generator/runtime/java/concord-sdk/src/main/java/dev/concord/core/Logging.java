package dev.concord.core;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The SDK logs through {@link System.Logger} {@code dev.concord} (route it to your logging
 * framework as usual): requests and answers at DEBUG, retries at INFO. Credentials never appear:
 * their header values are replaced by {@code ***}.
 */
public final class Logging {
  /** The logger of the SDK. */
  public static final System.Logger LOGGER = System.getLogger("dev.concord");

  private static final Set<String> SECRET_HEADERS =
      Set.of("authorization", "x-api-key", "cookie", "set-cookie", "proxy-authorization");

  private Logging() {}

  /** The headers with the values of credential headers replaced by {@code ***}. */
  public static Map<String, List<String>> redact(Map<String, List<String>> headers) {
    Map<String, List<String>> safe = new LinkedHashMap<>();
    headers.forEach(
        (name, values) ->
            safe.put(
                name,
                SECRET_HEADERS.contains(name.toLowerCase(Locale.ROOT)) ? List.of("***") : values));
    return safe;
  }
}
