package dev.concord.core;

import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * The settings every Concord client builder offers. A client made from it is immutable.
 *
 * @param <B> the concrete builder
 * @param <C> the client it builds
 */
public abstract class ClientBuilder<B extends ClientBuilder<B, C>, C> {
  /** Environment variable of the base URL. */
  public static final String ENV_BASE_URL = "CONCORD_BASE_URL";

  /** Environment variable of the API key. */
  public static final String ENV_API_KEY = "CONCORD_API_KEY";

  /** Environment variable of the bearer token. */
  public static final String ENV_BEARER_TOKEN = "CONCORD_BEARER_TOKEN";

  /** The base URL used when none is given. */
  public static final String DEFAULT_BASE_URL = "http://localhost:8080";

  private URI baseUrl;
  private String apiKey = "";
  private String bearerToken = "";
  private URI envBaseUrl;
  private String envApiKey = "";
  private String envBearerToken = "";
  private Transport transport;
  private HttpClient httpClient;
  private Duration timeout = Duration.ofSeconds(60);
  private int maxRetries = 2;
  private Duration initialBackoff = Duration.ofMillis(500);
  private Duration maxBackoff = Duration.ofSeconds(8);
  private final Map<String, List<String>> headers = new LinkedHashMap<>();

  /** A builder with the defaults. */
  protected ClientBuilder() {}

  /** This builder, typed. */
  protected abstract B self();

  /** The client. */
  public abstract C build();

  /**
   * The REST base URL (default {@code http://localhost:8080}); wins over {@code CONCORD_BASE_URL},
   * and "" counts as not given. Credentials are sent only to this origin.
   */
  public B baseUrl(String baseUrl) {
    String given = Objects.requireNonNull(baseUrl, "baseUrl").trim();
    this.baseUrl = given.isEmpty() ? null : parseUrl(given);
    return self();
  }

  private static URI parseUrl(String baseUrl) {
    String trimmed = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
    URI uri;
    try {
      uri = URI.create(trimmed);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("baseUrl is not a URL: " + baseUrl, e);
    }
    String scheme = uri.getScheme();
    if (uri.getHost() == null || !("http".equals(scheme) || "https".equals(scheme))) {
      throw new IllegalArgumentException("baseUrl must be an absolute http(s) URL: " + baseUrl);
    }
    return uri;
  }

  /**
   * The API key, sent as {@code X-API-Key}. A non-empty key or bearer token given here replaces
   * both credentials of the environment; "" counts as not given.
   */
  public B apiKey(String apiKey) {
    this.apiKey = Objects.requireNonNull(apiKey, "apiKey");
    return self();
  }

  /** A bearer JWT, sent as {@code Authorization: Bearer …}; it wins over an API key given here. */
  public B bearerToken(String bearerToken) {
    this.bearerToken = Objects.requireNonNull(bearerToken, "bearerToken");
    return self();
  }

  /**
   * Reads {@code CONCORD_BASE_URL}, {@code CONCORD_API_KEY} and {@code CONCORD_BEARER_TOKEN}, used
   * where no value is given explicitly (before or after this call).
   */
  public B fromEnv() {
    return fromEnv(System::getenv);
  }

  /** Like {@link #fromEnv()}, reading variables through {@code env} (null when unset). */
  public B fromEnv(Function<String, String> env) {
    String url = env.apply(ENV_BASE_URL);
    envBaseUrl = url == null || url.isBlank() ? null : parseUrl(url.trim());
    envApiKey = trimmed(env.apply(ENV_API_KEY));
    envBearerToken = trimmed(env.apply(ENV_BEARER_TOKEN));
    return self();
  }

  private static String trimmed(String value) {
    return value == null ? "" : value.trim();
  }

  /** Sends calls through {@code transport} (e.g. gRPC) instead of REST; closed with the client. */
  public B transport(Transport transport) {
    this.transport = transport;
    return self();
  }

  /** The {@link HttpClient} of the REST transport (default: a new one per client). */
  public B httpClient(HttpClient httpClient) {
    this.httpClient = httpClient;
    return self();
  }

  /** Bounds each attempt of a call (default 60 s); for a stream, until it opens. */
  public B timeout(Duration timeout) {
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive: " + timeout);
    }
    this.timeout = timeout;
    return self();
  }

  /** How many times a failed call is retried (default 2; 0 disables retries). */
  public B maxRetries(int maxRetries) {
    if (maxRetries < 0) {
      throw new IllegalArgumentException("maxRetries must not be negative: " + maxRetries);
    }
    this.maxRetries = maxRetries;
    return self();
  }

  /** Retry delays: {@code initial}·2ⁿ up to {@code max} (defaults 0.5 s and 8 s), less jitter. */
  public B retryBackoff(Duration initial, Duration max) {
    if (initial.isNegative() || max.compareTo(initial) < 0) {
      throw new IllegalArgumentException("need 0 <= initial <= max: " + initial + ", " + max);
    }
    this.initialBackoff = initial;
    this.maxBackoff = max;
    return self();
  }

  /** Adds a header sent with every call. */
  public B header(String name, String value) {
    headers.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
    return self();
  }

  /** The settings, with the SDK's User-Agent. */
  protected ClientConfig config(String userAgent) {
    Map<String, List<String>> copy = new LinkedHashMap<>();
    headers.forEach((k, v) -> copy.put(k, List.copyOf(v)));
    URI url =
        baseUrl != null ? baseUrl : envBaseUrl != null ? envBaseUrl : parseUrl(DEFAULT_BASE_URL);
    boolean explicit = !apiKey.isEmpty() || !bearerToken.isEmpty();
    return new ClientConfig(
        url,
        explicit ? apiKey : envApiKey,
        explicit ? bearerToken : envBearerToken,
        transport,
        httpClient,
        timeout,
        maxRetries,
        initialBackoff,
        maxBackoff,
        Map.copyOf(copy),
        userAgent);
  }
}
