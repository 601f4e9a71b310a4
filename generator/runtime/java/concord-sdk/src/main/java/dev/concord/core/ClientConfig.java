package dev.concord.core;

import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The settings of a client, made by {@link ClientBuilder}.
 *
 * @param baseUrl the REST base URL, e.g. {@code http://localhost:8080}
 * @param apiKey the API key ("" for none), sent as {@code X-API-Key}
 * @param bearerToken the bearer JWT ("" for none), sent as {@code Authorization}; wins over the key
 * @param transport the transport, or null for REST over {@code httpClient}
 * @param httpClient the HTTP client of the REST transport, or null for a new one
 * @param timeout the time limit of each attempt
 * @param maxRetries how many times a failed call is retried
 * @param initialBackoff the delay before the first retry (doubled each time, with jitter)
 * @param maxBackoff the longest delay between retries
 * @param headers headers sent with every call
 * @param userAgent the User-Agent
 */
public record ClientConfig(
    URI baseUrl,
    String apiKey,
    String bearerToken,
    Transport transport,
    HttpClient httpClient,
    Duration timeout,
    int maxRetries,
    Duration initialBackoff,
    Duration maxBackoff,
    Map<String, List<String>> headers,
    String userAgent) {

  /** The settings with credentials shown as {@code ***}. */
  @Override
  public String toString() {
    return "ClientConfig[baseUrl="
        + baseUrl
        + ", apiKey="
        + (apiKey.isEmpty() ? "" : "***")
        + ", bearerToken="
        + (bearerToken.isEmpty() ? "" : "***")
        + ", transport="
        + (transport == null ? "REST" : transport.getClass().getSimpleName())
        + ", timeout="
        + timeout
        + ", maxRetries="
        + maxRetries
        + ", headers="
        + Logging.redact(headers)
        + "]";
  }
}
