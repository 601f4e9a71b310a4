package concordgrpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The SDK's models speak the contract's JSON mapping; protobuf messages are reached through
// protojson, which differs from it in two ways this file bridges, walking the JSON tree along
// the message's descriptor: enums (the contract drops the type prefix: "ACQUIRED" for
// LOCK_EVENT_TYPE_ACQUIRED) and 64-bit integers (numbers in the contract, strings in
// protojson). Field names are the proto names on both sides; Timestamp, Duration, Struct and
// Value have the same form.

// toProto fills msg from the contract JSON of a request.
func toProto(contract []byte, msg proto.Message) error {
	tree, err := decodeJSON(contract)
	if err != nil {
		return err
	}
	wire, err := json.Marshal(walkMessage(tree, msg.ProtoReflect().Descriptor(), true))
	if err != nil {
		return err
	}
	return protojson.UnmarshalOptions{DiscardUnknown: false}.Unmarshal(wire, msg)
}

// fromProto is the contract JSON of msg.
func fromProto(msg proto.Message) ([]byte, error) {
	wire, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(msg)
	if err != nil {
		return nil, err
	}
	tree, err := decodeJSON(wire)
	if err != nil {
		return nil, err
	}
	return json.Marshal(walkMessage(tree, msg.ProtoReflect().Descriptor(), false))
}

func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("concordgrpc: reading JSON: %w", err)
	}
	return tree, nil
}

// walkMessage converts the fields of one message object (toWire: contract -> protojson).
func walkMessage(v any, md protoreflect.MessageDescriptor, toWire bool) any {
	obj, ok := v.(map[string]any)
	if !ok || isWellKnown(md) {
		return v
	}
	for key, value := range obj {
		fd := md.Fields().ByName(protoreflect.Name(key))
		if fd == nil {
			fd = md.Fields().ByJSONName(key)
		}
		if fd != nil {
			obj[key] = walkField(value, fd, toWire)
		}
	}
	return obj
}

func walkField(v any, fd protoreflect.FieldDescriptor, toWire bool) any {
	switch {
	case fd.IsMap():
		if obj, ok := v.(map[string]any); ok {
			for k, item := range obj {
				obj[k] = walkValue(item, fd.MapValue(), toWire)
			}
		}
		return v
	case fd.IsList():
		if list, ok := v.([]any); ok {
			for i, item := range list {
				list[i] = walkValue(item, fd, toWire)
			}
		}
		return v
	}
	return walkValue(v, fd, toWire)
}

// walkValue converts one singular value of the field's kind.
func walkValue(v any, fd protoreflect.FieldDescriptor, toWire bool) any {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return walkMessage(v, fd.Message(), toWire)
	case protoreflect.EnumKind:
		if s, ok := v.(string); ok {
			if toWire {
				return enumToWire(fd.Enum(), s)
			}
			return enumFromWire(fd.Enum(), s)
		}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if s, ok := v.(string); ok && !toWire {
			return json.Number(s)
		}
	}
	return v
}

// isWellKnown reports the google.protobuf types whose JSON the contract keeps as protojson's.
func isWellKnown(md protoreflect.MessageDescriptor) bool {
	return md.ParentFile().Package() == "google.protobuf"
}

// enumPrefix is the type prefix of an enum's values, read off its zero value
// (`<PREFIX>_UNSPECIFIED`, which buf lint enforces); "" when there is none.
func enumPrefix(ed protoreflect.EnumDescriptor) string {
	zero := ed.Values().ByNumber(0)
	if zero == nil {
		return ""
	}
	prefix, ok := strings.CutSuffix(string(zero.Name()), "UNSPECIFIED")
	if !ok {
		return ""
	}
	return prefix
}

// enumToWire is the full value name of a contract enum string ("ACQUIRED" ->
// "LOCK_EVENT_TYPE_ACQUIRED"); unknown names pass unchanged (protojson then rejects them).
func enumToWire(ed protoreflect.EnumDescriptor, name string) string {
	full := enumPrefix(ed) + name
	if ed.Values().ByName(protoreflect.Name(full)) != nil {
		return full
	}
	return name
}

// enumFromWire is the contract string of a full value name (the prefix stripped).
func enumFromWire(ed protoreflect.EnumDescriptor, name string) string {
	if prefix := enumPrefix(ed); prefix != "" {
		return strings.TrimPrefix(name, prefix)
	}
	return name
}
