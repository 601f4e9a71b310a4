package dev.concord.core;

import com.fasterxml.jackson.databind.JsonNode;
import dev.concord.errors.ApiErrors;
import dev.concord.errors.ConcordException;
import dev.concord.errors.ConnectionException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;

/**
 * Reads Server-Sent Events: one JSON message per event ({@code data:} lines joined by newlines). An
 * event named {@code error} carries a {@code concord.v1.Error} and ends the stream with its typed
 * exception; comments and other fields are skipped. The {@code id:} of each complete frame (a frame
 * without data too) becomes the last event id, as in the SSE specification.
 */
final class SseStream implements MessageStream {
  private final String rpc;
  private final InputStream body;
  private final BufferedReader reader;
  private volatile boolean closed;
  private String idBuffer = "";
  private volatile String lastEventId = "";

  SseStream(String rpc, InputStream body) {
    this.rpc = rpc;
    this.body = body;
    this.reader = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
  }

  @Override
  public JsonNode next() {
    String event = "";
    StringBuilder data = null;
    while (true) {
      String line = readLine();
      if (line == null) {
        return null;
      }
      if (line.isEmpty()) {
        lastEventId = idBuffer;
        if (data != null) {
          return message(event, data.toString());
        }
        event = "";
        continue;
      }
      if (line.startsWith(":")) {
        continue;
      }
      int colon = line.indexOf(':');
      String field = colon < 0 ? line : line.substring(0, colon);
      String value = colon < 0 ? "" : line.substring(colon + 1);
      if (value.startsWith(" ")) {
        value = value.substring(1);
      }
      if (field.equals("event")) {
        event = value;
      } else if (field.equals("data")) {
        data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
      } else if (field.equals("id") && value.indexOf('\0') < 0) {
        idBuffer = value;
      }
    }
  }

  /** The id of the last complete frame that carried one; empty when none did (or it was empty). */
  @Override
  public Optional<String> lastEventId() {
    return lastEventId.isEmpty() ? Optional.empty() : Optional.of(lastEventId);
  }

  private JsonNode message(String event, String data) {
    JsonNode node;
    try {
      node = Json.parse(data);
    } catch (IllegalArgumentException e) {
      throw new ConcordException(rpc + ": a stream message is not JSON: " + data, e);
    }
    if (event.equals("error")) {
      throw ApiErrors.fromAnswer(statusOf(node), Map.of(), node);
    }
    return node;
  }

  private static int statusOf(JsonNode error) {
    return dev.concord.errors.ErrorCode.of(Json.string(error, "code")).httpStatus();
  }

  private String readLine() {
    try {
      return reader.readLine();
    } catch (IOException e) {
      if (closed) {
        return null;
      }
      throw new ConnectionException(rpc + ": the stream broke: " + e, false, e);
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      body.close();
    } catch (IOException e) {
      // Nothing to do: the stream is being dropped.
    }
  }
}
