package dev.concord.grpc;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.concord.core.Json;
import dev.concord.errors.ApiErrorInfo;
import dev.concord.errors.ApiErrors;
import dev.concord.errors.ConcordException;
import dev.concord.errors.ConnectionException;
import dev.concord.errors.ErrorCode;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A failed gRPC call as the SDK's exceptions: the typed exception of the {@code concord.v1.Error}
 * in the status details (else of the status code), or a {@link ConnectionException} when no answer
 * came (a bare UNAVAILABLE, a cancelled or timed-out call).
 */
final class GrpcErrors {
  private GrpcErrors() {}

  static ConcordException map(String rpc, Throwable failure, boolean timedOut) {
    Status status = Status.fromThrowable(failure);
    Metadata trailers = Status.trailersFromThrowable(failure);
    Map<String, List<String>> headers = headers(trailers);
    dev.concord.v1.Error body = concordError(failure);
    if (body != null) {
      ObjectNode error = ProtoJson.fromProto(body);
      if (Json.string(error, "request_id").isEmpty()) {
        error.put("request_id", first(headers));
      }
      ErrorCode code = ErrorCode.of(Json.string(error, "code"));
      return ApiErrors.fromAnswer(code.httpStatus(), headers, error);
    }
    String text = rpc + ": " + status.getCode() + ": " + status.getDescription();
    switch (status.getCode()) {
      case DEADLINE_EXCEEDED:
        return new ConnectionException(rpc + ": request timed out", true, failure);
      case CANCELLED:
        return new ConnectionException(text, timedOut, failure);
      case UNAVAILABLE:
        return new ConnectionException(text, false, failure);
      default:
        break;
    }
    ErrorCode code =
        GrpcCodes.BY_STATUS.getOrDefault(status.getCode(), ErrorCode.of(status.getCode().name()));
    String message =
        status.getDescription() == null ? status.getCode().name() : status.getDescription();
    return ApiErrors.create(
        new ApiErrorInfo(code.httpStatus(), code, message, Json.object(), first(headers), headers));
  }

  private static dev.concord.v1.Error concordError(Throwable failure) {
    com.google.rpc.Status status = StatusProto.fromThrowable(failure);
    if (status == null) {
      return null;
    }
    for (Any detail : status.getDetailsList()) {
      if (detail.is(dev.concord.v1.Error.class)) {
        try {
          dev.concord.v1.Error error = detail.unpack(dev.concord.v1.Error.class);
          if (error.getCodeValue() != 0) {
            return error;
          }
        } catch (InvalidProtocolBufferException e) {
          return null;
        }
      }
    }
    return null;
  }

  /** Metadata as headers: ASCII keys in lower case (binary ones left out). */
  static Map<String, List<String>> headers(Metadata... all) {
    Map<String, List<String>> headers = new TreeMap<>();
    for (Metadata metadata : all) {
      if (metadata == null) {
        continue;
      }
      for (String key : metadata.keys()) {
        if (key.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
          continue;
        }
        Iterable<String> values =
            metadata.getAll(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER));
        if (values != null) {
          List<String> list =
              headers.computeIfAbsent(key.toLowerCase(Locale.ROOT), k -> new ArrayList<>());
          values.forEach(list::add);
        }
      }
    }
    return headers;
  }

  private static String first(Map<String, List<String>> headers) {
    List<String> ids = headers.get("x-request-id");
    return ids == null || ids.isEmpty() ? "" : ids.get(0);
  }
}
