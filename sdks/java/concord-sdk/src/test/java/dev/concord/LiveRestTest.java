package dev.concord;

/** The live scenarios over REST. */
class LiveRestTest extends LiveHelperScenarios {
  @Override
  protected ConcordClient newClient(String apiKey) {
    return ConcordClient.builder().baseUrl(BASE_URL).apiKey(apiKey).build();
  }
}
