package dev.concord.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import dev.concord.ConcordClient;
import dev.concord.core.RequestOptions;
import dev.concord.core.ServerStream;
import dev.concord.errors.ConnectionException;
import dev.concord.errors.InvalidArgumentException;
import dev.concord.errors.LockConflictException;
import dev.concord.models.LockEventType;
import dev.concord.models.ReadDirection;
import dev.concord.models.ReadStreamParams;
import dev.concord.models.WatchLocksResponse;
import dev.concord.v1.AcquireLockResponse;
import dev.concord.v1.ErrorCode;
import dev.concord.v1.GetLockResponse;
import dev.concord.v1.Lock;
import dev.concord.v1.WatchLocksRequest;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The gRPC transport against an in-process server that answers from a script. */
class GrpcTransportTest {
  /** An answer that never comes: the server waits until the client cancels the call. */
  private static final Object HANG = new Object();

  private final Queue<Object> answers = new ConcurrentLinkedQueue<>();
  private final CountDownLatch hung = new CountDownLatch(1);
  private final CountDownLatch cancelled = new CountDownLatch(1);
  private final List<Metadata> received = new CopyOnWriteArrayList<>();
  private final List<Message> requests = new CopyOnWriteArrayList<>();
  private Server server;
  private ManagedChannel channel;
  private ConcordClient client;

  @BeforeEach
  void start() throws IOException {
    String name = InProcessServerBuilder.generateName();
    ServerServiceDefinition.Builder locks =
        ServerServiceDefinition.builder("concord.v1.LockService");
    for (String rpc : List.of("AcquireLock", "GetLock")) {
      locks.addMethod(
          method("concord.v1.LockService/" + rpc), ServerCalls.asyncUnaryCall(this::unary));
    }
    locks.addMethod(
        method("concord.v1.LockService/WatchLocks"),
        ServerCalls.asyncServerStreamingCall(this::watch));
    ServerServiceDefinition events =
        ServerServiceDefinition.builder("concord.v1.EventService")
            .addMethod(
                method("concord.v1.EventService/ReadStream"),
                ServerCalls.asyncUnaryCall(this::unary))
            .build();
    io.grpc.ServerInterceptor capture =
        new io.grpc.ServerInterceptor() {
          @Override
          public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(
              io.grpc.ServerCall<Q, R> call,
              Metadata headers,
              io.grpc.ServerCallHandler<Q, R> next) {
            received.add(headers);
            return next.startCall(call, headers);
          }
        };
    server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(ServerInterceptors.intercept(locks.build(), capture))
            .addService(ServerInterceptors.intercept(events, capture))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    client =
        ConcordClient.builder()
            .transport(GrpcTransport.of(channel))
            .apiKey("k")
            .maxRetries(2)
            .retryBackoff(Duration.ofMillis(1), Duration.ofMillis(2))
            .build();
  }

  @AfterEach
  void stop() {
    client.close();
    channel.shutdownNow();
    server.shutdownNow();
  }

  private static MethodDescriptor<Message, Message> method(String name) {
    return GrpcMethods.ALL.get(name);
  }

  private void unary(Message request, StreamObserver<Message> out) {
    requests.add(request);
    Object next = answers.poll();
    if (next == HANG) {
      ((ServerCallStreamObserver<Message>) out).setOnCancelHandler(cancelled::countDown);
      hung.countDown();
    } else if (next instanceof Throwable) {
      out.onError((Throwable) next);
    } else {
      out.onNext((Message) next);
      out.onCompleted();
    }
  }

  private void watch(Message request, StreamObserver<Message> out) {
    requests.add(request);
    Lock lock = Lock.newBuilder().setName("a").setFencingToken(1L << 40).build();
    out.onNext(
        dev.concord.v1.WatchLocksResponse.newBuilder()
            .setType(dev.concord.v1.LockEventType.LOCK_EVENT_TYPE_RELEASED)
            .setLock(lock)
            .build());
    out.onCompleted();
  }

  private static Throwable concordError(Status.Code status, ErrorCode code, String retryAfter) {
    dev.concord.v1.Error error =
        dev.concord.v1.Error.newBuilder()
            .setCode(code)
            .setMessage("held")
            .setRequestId("req_g")
            .build();
    com.google.rpc.Status proto =
        com.google.rpc.Status.newBuilder()
            .setCode(status.value())
            .setMessage("held")
            .addDetails(Any.pack(error))
            .build();
    Metadata trailers = new Metadata();
    if (retryAfter != null) {
      trailers.put(Metadata.Key.of("retry-after", Metadata.ASCII_STRING_MARSHALLER), retryAfter);
    }
    return StatusProto.toStatusRuntimeException(proto, trailers);
  }

  @Test
  void convertsMessagesBothWays() {
    answers.add(
        GetLockResponse.newBuilder()
            .setLock(Lock.newBuilder().setName("a").setFencingToken(9_007_199_254_740_991L))
            .build());
    dev.concord.models.Lock lock = client.locks().get("a").lock().orElseThrow();
    assertEquals(9_007_199_254_740_991L, lock.fencingToken());
    assertEquals("a", ((dev.concord.v1.GetLockRequest) requests.get(0)).getName());
    assertEquals(
        "k", received.get(0).get(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER)));
  }

  @Test
  void enumsLoseAndRegainTheirPrefix() {
    answers.add(dev.concord.v1.ReadStreamResponse.getDefaultInstance());
    client.events().read("s", ReadStreamParams.builder().direction(ReadDirection.BACKWARD).build());
    assertEquals(
        dev.concord.v1.ReadDirection.READ_DIRECTION_BACKWARD,
        ((dev.concord.v1.ReadStreamRequest) requests.get(0)).getDirection());
    InvalidArgumentException e =
        assertThrows(
            InvalidArgumentException.class,
            () ->
                client
                    .events()
                    .read(
                        "s",
                        ReadStreamParams.builder()
                            .direction(ReadDirection.of("SIDEWAYS"))
                            .build()));
    assertEquals("direction", e.details().get("field").asText());
    assertEquals(1, requests.size());
  }

  @Test
  void concordErrorDetailsBecomeTypedExceptions() {
    answers.add(concordError(Status.Code.ABORTED, ErrorCode.ERROR_CODE_LOCK_CONFLICT, null));
    LockConflictException e =
        assertThrows(LockConflictException.class, () -> client.locks().get("a"));
    assertEquals(409, e.statusCode());
    assertEquals("req_g", e.requestId());
    assertEquals(1, requests.size());
  }

  @Test
  void retriesWithTheSameIdempotencyKey() {
    answers.add(concordError(Status.Code.UNAVAILABLE, ErrorCode.ERROR_CODE_UNAVAILABLE, "0"));
    answers.add(Status.UNAVAILABLE.withDescription("connection reset").asRuntimeException());
    answers.add(AcquireLockResponse.newBuilder().setLock(Lock.newBuilder().setName("a")).build());
    client
        .locks()
        .acquire(
            "a",
            dev.concord.models.AcquireLockParams.builder()
                .owner("o")
                .ttl(Duration.ofSeconds(1))
                .build());
    Metadata.Key<String> key = Metadata.Key.of("idempotency-key", Metadata.ASCII_STRING_MARSHALLER);
    assertEquals(3, received.size());
    assertEquals(received.get(0).get(key), received.get(2).get(key));
    assertTrue(received.get(0).get(key).length() > 10);
  }

  @Test
  void perCallOptionsBecomeMetadataAndADeadline() throws InterruptedException {
    answers.add(HANG);
    RequestOptions options =
        RequestOptions.builder()
            .header("X-Trace", "t1")
            .idempotencyKey("job-42")
            .timeout(Duration.ofMillis(200))
            .maxRetries(0)
            .build();
    ConnectionException e =
        assertThrows(
            ConnectionException.class,
            () ->
                client
                    .locks()
                    .acquire(
                        "a",
                        dev.concord.models.AcquireLockParams.builder().owner("o").build(),
                        options));
    assertTrue(e.isTimeout());
    assertTrue(cancelled.await(60, TimeUnit.SECONDS), "the server saw the deadline pass");
    assertEquals(1, requests.size());
    assertEquals("t1", received.get(0).get(ascii("x-trace")));
    assertEquals("job-42", received.get(0).get(ascii("idempotency-key")));
  }

  @Test
  void cancellingTheFutureCancelsTheCall() throws InterruptedException {
    answers.add(HANG);
    CompletableFuture<dev.concord.models.GetLockResponse> call = client.async().locks().get("a");
    assertTrue(hung.await(60, TimeUnit.SECONDS), "the server got the call");
    assertTrue(call.cancel(true));
    assertTrue(cancelled.await(60, TimeUnit.SECONDS), "the server saw the call cancelled");
    assertThrows(CancellationException.class, call::join);
    assertEquals(1, requests.size());
  }

  private static Metadata.Key<String> ascii(String name) {
    return Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER);
  }

  @Test
  void bareUnavailableIsAConnectionError() {
    for (int i = 0; i < 3; i++) {
      answers.add(Status.UNAVAILABLE.asRuntimeException());
    }
    assertThrows(ConnectionException.class, () -> client.locks().get("a"));
    assertEquals(3, requests.size());
  }

  @Test
  void serverStreamsArriveAsModels() {
    try (ServerStream<WatchLocksResponse> stream = client.locks().watch()) {
      WatchLocksResponse only = stream.iterator().next();
      assertEquals(LockEventType.RELEASED, only.type().orElseThrow());
      assertEquals(1L << 40, only.lock().orElseThrow().fencingToken());
    }
    assertEquals(WatchLocksRequest.getDefaultInstance(), requests.get(0));
  }
}
