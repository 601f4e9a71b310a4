package dev.concord.grpc;

import dev.concord.ConcordClient;
import dev.concord.LiveHelperScenarios;
import org.junit.jupiter.api.Assumptions;

/** The live scenarios over the gRPC transport (CONCORD_TEST_GRPC_TARGET). */
class LiveGrpcTest extends LiveHelperScenarios {
  private static final String TARGET = System.getenv("CONCORD_TEST_GRPC_TARGET");

  @Override
  protected ConcordClient newClient(String apiKey) {
    Assumptions.assumeTrue(TARGET != null, "set CONCORD_TEST_GRPC_TARGET");
    return ConcordClient.builder()
        .transport(GrpcTransport.forTarget(TARGET))
        .apiKey(apiKey)
        .build();
  }
}
