package example;

import dev.concord.ConcordClient;
import dev.concord.grpc.GrpcTransport;
import dev.concord.models.AcquireLockParams;
import dev.concord.models.Lock;
import java.time.Duration;

/** Calls the live server with the installed jars, over REST and over gRPC. */
public final class Main {
  private Main() {}

  /** Arguments: REST base URL, gRPC target, API key. */
  public static void main(String[] args) {
    try (ConcordClient rest = ConcordClient.builder().baseUrl(args[0]).apiKey(args[2]).build();
        ConcordClient grpc =
            ConcordClient.builder()
                .transport(GrpcTransport.forTarget(args[1]))
                .apiKey(args[2])
                .build()) {
      check(rest, "rest");
      check(grpc, "grpc");
    }
    System.out.println("installed jars answered the live server over REST and gRPC");
  }

  private static void check(ConcordClient client, String transport) {
    String status = client.health().live().status().orElseThrow().value();
    if (!status.equals("SERVING")) {
      throw new IllegalStateException(transport + ": liveness " + status);
    }
    String name = "package-check-" + transport + "-" + System.nanoTime();
    AcquireLockParams params =
        AcquireLockParams.builder().owner("check").ttl(Duration.ofSeconds(10)).build();
    Lock lock = client.locks().acquire(name, params).lock().orElseThrow();
    if (lock.fencingToken() <= 0) {
      throw new IllegalStateException(transport + ": no fencing token");
    }
  }
}
