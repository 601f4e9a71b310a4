package dev.concord.core;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Reading and writing the contract's JSON (docs/contract.md): the helpers generated models use, and
 * {@link #toNode(Object)} to build a {@code google.protobuf.Value} from plain Java values.
 */
public final class Json {
  /** The SDK's shared Jackson mapper (tree model only). */
  public static final ObjectMapper MAPPER = new ObjectMapper();

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private Json() {}

  /** A new empty JSON object. */
  public static ObjectNode object() {
    return NODES.objectNode();
  }

  /** Parses JSON text; throws IllegalArgumentException when it is not JSON. */
  public static JsonNode parse(String text) {
    try {
      return MAPPER.readTree(text);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** The compact JSON text of a node. */
  public static String write(JsonNode node) {
    try {
      return MAPPER.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree could not be written", e);
    }
  }

  /**
   * A JSON value of a plain Java value: maps, lists, strings, numbers, booleans, {@link JsonNode}s
   * and {@code null} (JSON {@code null}).
   */
  public static JsonNode toNode(Object value) {
    if (value == null) {
      return NullNode.getInstance();
    }
    if (value instanceof JsonNode) {
      return (JsonNode) value;
    }
    return MAPPER.valueToTree(value);
  }

  // ------------------------------------------------------------------ reading

  private static JsonNode field(JsonNode node, String name) {
    JsonNode value = node == null ? null : node.get(name);
    return value == null || value.isNull() ? null : value;
  }

  /** A string field; "" when absent. */
  public static String string(JsonNode node, String name) {
    JsonNode value = field(node, name);
    return value == null ? "" : value.asText();
  }

  /** A bool field; false when absent. */
  public static boolean bool(JsonNode node, String name) {
    JsonNode value = field(node, name);
    return value != null && value.asBoolean();
  }

  /** An int32 field; 0 when absent. */
  public static int int32(JsonNode node, String name) {
    JsonNode value = field(node, name);
    return value == null ? 0 : value.asInt();
  }

  /** An int64 field (a number, or a string of digits); 0 when absent. */
  public static long int64(JsonNode node, String name) {
    JsonNode value = field(node, name);
    return value == null ? 0L : value.asLong();
  }

  /** A double field; 0 when absent. */
  public static double float64(JsonNode node, String name) {
    JsonNode value = field(node, name);
    return value == null ? 0.0 : value.asDouble();
  }

  /** An optional int64 field; null when absent. */
  public static Long optionalInt64(JsonNode node, String name) {
    JsonNode value = field(node, name);
    return value == null ? null : value.asLong();
  }

  /** An optional int32 field; null when absent. */
  public static Integer optionalInt32(JsonNode node, String name) {
    JsonNode value = field(node, name);
    return value == null ? null : value.asInt();
  }

  /** An optional double field; null when absent. */
  public static Double optionalFloat64(JsonNode node, String name) {
    JsonNode value = field(node, name);
    return value == null ? null : value.asDouble();
  }

  /** An optional string field (a oneof member); null when absent. */
  public static String optionalString(JsonNode node, String name) {
    JsonNode value = field(node, name);
    return value == null ? null : value.asText();
  }

  /** A bytes field (base64 in JSON); empty when absent. */
  public static byte[] bytes(JsonNode node, String name) {
    JsonNode value = field(node, name);
    return value == null ? new byte[0] : Base64.getDecoder().decode(value.asText());
  }

  /** An optional bool field (a oneof member); null when absent. */
  public static Boolean optionalBool(JsonNode node, String name) {
    JsonNode value = field(node, name);
    return value == null ? null : value.asBoolean();
  }

  /** A Timestamp field; null when absent. */
  public static Instant instant(JsonNode node, String name) {
    JsonNode value = field(node, name);
    return value == null ? null : ProtoTime.parseTimestamp(value.asText());
  }

  /** A Duration field; null when absent. */
  public static Duration duration(JsonNode node, String name) {
    JsonNode value = field(node, name);
    return value == null ? null : ProtoTime.parseDuration(value.asText());
  }

  /** A Value field: null when absent, {@link NullNode} for a JSON {@code null}. */
  public static JsonNode value(JsonNode node, String name) {
    return node == null ? null : node.get(name);
  }

  /** A Struct field; null when absent. */
  public static ObjectNode struct(JsonNode node, String name) {
    JsonNode value = field(node, name);
    return value instanceof ObjectNode ? ((ObjectNode) value).deepCopy() : null;
  }

  /** A message field decoded by {@code decode}; null when absent. */
  public static <T> T message(JsonNode node, String name, Function<JsonNode, T> decode) {
    JsonNode value = field(node, name);
    return value == null ? null : decode.apply(value);
  }

  /** An enum field decoded by {@code of}; null when absent. */
  public static <T> T enumValue(JsonNode node, String name, Function<String, T> of) {
    JsonNode value = field(node, name);
    return value == null ? null : of.apply(value.asText());
  }

  /** A repeated field, each item decoded by {@code decode}; empty when absent. */
  public static <T> List<T> list(JsonNode node, String name, Function<JsonNode, T> decode) {
    JsonNode value = field(node, name);
    if (value == null || !value.isArray()) {
      return List.of();
    }
    List<T> items = new ArrayList<>(value.size());
    for (JsonNode item : value) {
      items.add(decode.apply(item));
    }
    return Collections.unmodifiableList(items);
  }

  /** A {@code map<string, V>} field, each value decoded by {@code decode}; empty when absent. */
  public static <T> Map<String, T> map(JsonNode node, String name, Function<JsonNode, T> decode) {
    JsonNode value = field(node, name);
    if (value == null || !value.isObject()) {
      return Map.of();
    }
    Map<String, T> entries = new LinkedHashMap<>();
    value.properties().forEach(e -> entries.put(e.getKey(), decode.apply(e.getValue())));
    return Collections.unmodifiableMap(entries);
  }

  // ------------------------------------------------------------------ writing

  /** Sets a string field unless it is empty (no presence: "" is the default). */
  public static void put(ObjectNode out, String name, String value) {
    if (value != null && !value.isEmpty()) {
      out.put(name, value);
    }
  }

  /** Sets a bool field unless it is false. */
  public static void put(ObjectNode out, String name, boolean value) {
    if (value) {
      out.put(name, true);
    }
  }

  /** Sets an int32 field unless it is 0. */
  public static void put(ObjectNode out, String name, int value) {
    if (value != 0) {
      out.put(name, value);
    }
  }

  /** Sets an int64 field unless it is 0. */
  public static void put(ObjectNode out, String name, long value) {
    if (value != 0L) {
      out.put(name, value);
    }
  }

  /** Sets a double field unless it is 0. */
  public static void put(ObjectNode out, String name, double value) {
    if (value != 0.0) {
      out.put(name, value);
    }
  }

  /** Sets a field with presence (optional scalar) when it has a value, zero included. */
  public static void putPresent(ObjectNode out, String name, Long value) {
    if (value != null) {
      out.put(name, value);
    }
  }

  /** Sets a field with presence (optional int32) when it has a value, zero included. */
  public static void putPresent(ObjectNode out, String name, Integer value) {
    if (value != null) {
      out.put(name, value);
    }
  }

  /** Sets a field with presence (optional double) when it has a value, zero included. */
  public static void putPresent(ObjectNode out, String name, Double value) {
    if (value != null) {
      out.put(name, value);
    }
  }

  /** Sets a field with presence (optional string) when it has a value, "" included. */
  public static void putPresent(ObjectNode out, String name, String value) {
    if (value != null) {
      out.put(name, value);
    }
  }

  /** Sets a bytes field (base64) unless it is empty. */
  public static void put(ObjectNode out, String name, byte[] value) {
    if (value != null && value.length > 0) {
      out.put(name, Base64.getEncoder().encodeToString(value));
    }
  }

  /** Sets a field with presence (optional bool) when it has a value, false included. */
  public static void putPresent(ObjectNode out, String name, Boolean value) {
    if (value != null) {
      out.put(name, value);
    }
  }

  /** Sets a Timestamp field when present. */
  public static void put(ObjectNode out, String name, Instant value) {
    if (value != null) {
      out.put(name, ProtoTime.formatTimestamp(value));
    }
  }

  /** Sets a Duration field when present, a zero duration included ({@code "0s"}). */
  public static void put(ObjectNode out, String name, Duration value) {
    if (value != null) {
      out.put(name, ProtoTime.formatDuration(value));
    }
  }

  /** Sets a Value or Struct field when present; {@link NullNode} is sent as JSON null. */
  public static void put(ObjectNode out, String name, JsonNode value) {
    if (value != null) {
      out.set(name, value.deepCopy());
    }
  }

  /** Sets a message field when present. */
  public static void put(ObjectNode out, String name, JsonModel value) {
    if (value != null) {
      out.set(name, value.toJson());
    }
  }

  /** Sets an enum field when set. */
  public static void put(ObjectNode out, String name, StringEnum value) {
    if (value != null) {
      out.put(name, value.value());
    }
  }

  /** Sets a repeated field unless it is empty, each item written by {@code encode}. */
  public static <T> void putList(
      ObjectNode out, String name, List<T> values, Function<T, JsonNode> encode) {
    if (values == null || values.isEmpty()) {
      return;
    }
    ArrayNode array = out.putArray(name);
    for (T value : values) {
      array.add(encode.apply(value));
    }
  }

  /** Sets a map field unless it is empty, each value written by {@code encode}. */
  public static <T> void putMap(
      ObjectNode out, String name, Map<String, T> values, Function<T, JsonNode> encode) {
    if (values == null || values.isEmpty()) {
      return;
    }
    ObjectNode object = out.putObject(name);
    values.forEach((k, v) -> object.set(k, encode.apply(v)));
  }

  /** A JSON string node (for lists and maps of strings). */
  public static JsonNode text(String value) {
    return NODES.textNode(value);
  }

  /** A JSON number node (for lists of int64). */
  public static JsonNode number(Long value) {
    return NODES.numberNode(value);
  }

  /** The text of a JSON node (for lists and maps of strings). */
  public static String asText(JsonNode node) {
    return node.asText();
  }

  /** The int64 of a JSON node (for lists of int64). */
  public static Long asLong(JsonNode node) {
    return node.asLong();
  }

  /** An unmodifiable copy of a list, never null, without null items. */
  public static <T> List<T> copy(List<T> values) {
    return values == null ? List.of() : List.copyOf(values);
  }

  /** An unmodifiable copy of a map, keeping order, never null. */
  public static <T> Map<String, T> copy(Map<String, T> values) {
    return values == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(values));
  }
}
