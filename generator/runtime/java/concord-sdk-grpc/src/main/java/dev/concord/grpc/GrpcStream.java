package dev.concord.grpc;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.Message;
import dev.concord.core.MessageStream;
import dev.concord.errors.ConcordException;
import dev.concord.errors.ConnectionException;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A gRPC server stream, opened eagerly: {@link #open} returns once the server sent the response
 * headers (it accepted the subscription) and throws the typed exception of a refusal. Messages are
 * requested one at a time as they are read; closing cancels the call and ends the stream without an
 * error.
 */
final class GrpcStream implements MessageStream {
  /** The end of the stream: the call's status and trailers. */
  private record End(Status status, Metadata trailers) {}

  private final String rpc;
  private final ClientCall<Message, Message> call;
  private final BlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
  private final CompletableFuture<Void> accepted = new CompletableFuture<>();
  private volatile boolean closed;
  private boolean ended;

  private GrpcStream(String rpc, ClientCall<Message, Message> call) {
    this.rpc = rpc;
    this.call = call;
  }

  /** Starts the call and waits (at most {@code timeout}, when set) until the server accepts. */
  static GrpcStream open(
      String rpc,
      ClientCall<Message, Message> call,
      Message request,
      Metadata headers,
      Duration timeout) {
    GrpcStream stream = new GrpcStream(rpc, call);
    call.start(stream.listener(), headers);
    call.sendMessage(request);
    call.halfClose();
    call.request(1);
    try {
      if (timeout == null) {
        stream.accepted.get();
      } else {
        stream.accepted.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
      }
      return stream;
    } catch (TimeoutException e) {
      call.cancel("opening timed out", null);
      throw new ConnectionException(rpc + ": opening the stream timed out", true, e);
    } catch (ExecutionException e) {
      throw GrpcErrors.map(rpc, e.getCause(), false);
    } catch (InterruptedException e) {
      call.cancel("interrupted", null);
      Thread.currentThread().interrupt();
      throw new ConcordException(rpc + ": interrupted while opening the stream", e);
    }
  }

  private ClientCall.Listener<Message> listener() {
    return new ClientCall.Listener<>() {
      @Override
      public void onHeaders(Metadata headers) {
        accepted.complete(null);
      }

      @Override
      public void onMessage(Message message) {
        accepted.complete(null);
        inbox.add(message);
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        if (status.isOk()) {
          accepted.complete(null);
        } else {
          accepted.completeExceptionally(status.asRuntimeException(trailers));
        }
        inbox.add(new End(status, trailers));
      }
    };
  }

  @Override
  public JsonNode next() {
    if (ended) {
      return null;
    }
    Object item;
    try {
      item = inbox.take();
    } catch (InterruptedException e) {
      close();
      Thread.currentThread().interrupt();
      throw new ConcordException(rpc + ": interrupted while reading the stream", e);
    }
    if (item instanceof Message) {
      call.request(1);
      return ProtoJson.fromProto((Message) item);
    }
    ended = true;
    End end = (End) item;
    if (end.status().isOk() || closed) {
      return null;
    }
    throw GrpcErrors.map(rpc, end.status().asRuntimeException(end.trailers()), false);
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      call.cancel("closed by the client", null);
    }
  }
}
