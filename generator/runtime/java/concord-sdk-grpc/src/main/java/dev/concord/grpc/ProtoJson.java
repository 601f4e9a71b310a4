package dev.concord.grpc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import dev.concord.core.Json;
import dev.concord.errors.ApiErrorInfo;
import dev.concord.errors.ApiErrors;
import dev.concord.errors.ConcordException;
import dev.concord.errors.ErrorCode;
import java.util.Map;

/**
 * Between the contract's JSON (what the SDK's models speak) and protobuf messages, through
 * protobuf's JSON mapping, which differs from the contract's in two ways bridged here by walking
 * the JSON along the message descriptor: enums (the contract drops the type prefix, {@code
 * "ACQUIRED"} for {@code LOCK_EVENT_TYPE_ACQUIRED}) and 64-bit integers (numbers in the contract,
 * strings in protobuf's JSON). Field names are the proto names on both sides; Timestamp, Duration,
 * Struct and Value have the same form.
 */
final class ProtoJson {
  private static final JsonFormat.Parser PARSER = JsonFormat.parser();
  private static final JsonFormat.Printer PRINTER =
      JsonFormat.printer().preservingProtoFieldNames().omittingInsignificantWhitespace();

  private ProtoJson() {}

  /**
   * The message of a request's contract JSON. An enum value the contract does not define cannot
   * travel over gRPC, so it is refused here as the server would refuse it: INVALID_ARGUMENT.
   */
  static Message toProto(String rpc, ObjectNode contract, Message prototype) {
    ObjectNode wire = contract.deepCopy();
    walkMessage(rpc, wire, prototype.getDescriptorForType(), true);
    Message.Builder builder = prototype.newBuilderForType();
    try {
      PARSER.merge(Json.write(wire), builder);
    } catch (InvalidProtocolBufferException e) {
      throw new ConcordException(rpc + ": the request does not fit the contract: " + e, e);
    }
    return builder.build();
  }

  /** The contract JSON of a message. */
  static ObjectNode fromProto(Message message) {
    JsonNode tree;
    try {
      tree = Json.parse(PRINTER.print(message));
    } catch (InvalidProtocolBufferException e) {
      throw new ConcordException("a message could not be printed as JSON: " + e, e);
    }
    ObjectNode object = tree instanceof ObjectNode ? (ObjectNode) tree : Json.object();
    walkMessage("", object, message.getDescriptorForType(), false);
    return object;
  }

  private static void walkMessage(String rpc, ObjectNode object, Descriptor type, boolean toWire) {
    if (isWellKnown(type)) {
      return;
    }
    for (Map.Entry<String, JsonNode> entry : object.properties()) {
      FieldDescriptor field = type.findFieldByName(entry.getKey());
      if (field == null || entry.getValue().isNull()) {
        continue;
      }
      entry.setValue(walkField(rpc, entry.getValue(), field, toWire));
    }
  }

  private static JsonNode walkField(String rpc, JsonNode value, FieldDescriptor field, boolean w) {
    if (field.isMapField()) {
      FieldDescriptor valueField = field.getMessageType().findFieldByName("value");
      if (value instanceof ObjectNode) {
        ((ObjectNode) value)
            .properties()
            .forEach(e -> e.setValue(walkValue(rpc, e.getValue(), valueField, w)));
      }
      return value;
    }
    if (field.isRepeated()) {
      if (value instanceof ArrayNode) {
        ArrayNode array = (ArrayNode) value;
        for (int i = 0; i < array.size(); i++) {
          array.set(i, walkValue(rpc, array.get(i), field, w));
        }
      }
      return value;
    }
    return walkValue(rpc, value, field, w);
  }

  private static JsonNode walkValue(String rpc, JsonNode value, FieldDescriptor field, boolean w) {
    switch (field.getJavaType()) {
      case MESSAGE:
        if (value instanceof ObjectNode) {
          walkMessage(rpc, (ObjectNode) value, field.getMessageType(), w);
        }
        return value;
      case ENUM:
        if (!value.isTextual()) {
          return value;
        }
        return JsonNodeFactory.instance.textNode(
            w
                ? enumToWire(rpc, field, value.asText())
                : enumFromWire(field.getEnumType(), value.asText()));
      case LONG:
        if (!w && value.isTextual()) {
          return JsonNodeFactory.instance.numberNode(Long.parseLong(value.asText()));
        }
        return value;
      default:
        return value;
    }
  }

  private static boolean isWellKnown(Descriptor type) {
    return type.getFile().getPackage().equals("google.protobuf");
  }

  /** The type prefix of an enum's values, read off its zero value {@code <PREFIX>UNSPECIFIED}. */
  private static String prefix(EnumDescriptor type) {
    EnumValueDescriptor zero = type.findValueByNumber(0);
    if (zero == null || !zero.getName().endsWith("UNSPECIFIED")) {
      return "";
    }
    return zero.getName().substring(0, zero.getName().length() - "UNSPECIFIED".length());
  }

  private static String enumToWire(String rpc, FieldDescriptor field, String name) {
    EnumDescriptor type = field.getEnumType();
    String full = prefix(type) + name;
    if (type.findValueByName(full) != null) {
      return full;
    }
    if (type.findValueByName(name) != null) {
      return name;
    }
    throw ApiErrors.create(
        new ApiErrorInfo(
            ErrorCode.INVALID_ARGUMENT.httpStatus(),
            ErrorCode.INVALID_ARGUMENT,
            rpc + ": " + field.getName() + ": unknown value " + name + " of " + type.getName(),
            details(field.getName()),
            "",
            Map.of()));
  }

  private static ObjectNode details(String field) {
    ObjectNode details = Json.object();
    details.put("field", field);
    details.put("reason", "unknown_enum_value");
    return details;
  }

  private static String enumFromWire(EnumDescriptor type, String name) {
    String prefix = prefix(type);
    return !prefix.isEmpty() && name.startsWith(prefix) ? name.substring(prefix.length()) : name;
  }
}
