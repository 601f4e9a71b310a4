package conformance

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	concord "github.com/concordhq/concord/sdks/go"
)

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
	stringType   = reflect.TypeFor[string]()
	rawType      = reflect.TypeFor[json.RawMessage]()
	nullType     = reflect.TypeFor[concord.NullValue]()
)

// contract writes an SDK value in the contract's JSON form the way the server does: scalars,
// lists and maps always present; unset messages, optional fields, Timestamps, Durations and
// enums left out. (The SDK's own MarshalJSON leaves out every zero value instead.)
func contract(v any) any {
	return encode(reflect.ValueOf(v))
}

func encode(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	switch v.Type() {
	case timeType:
		return concord.FormatTimestamp(v.Interface().(time.Time))
	case durationType:
		return concord.FormatDuration(time.Duration(v.Int()))
	case rawType:
		return json.RawMessage(v.Bytes())
	case nullType:
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return encode(v.Elem())
	case reflect.Struct:
		return encodeStruct(v)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return base64.StdEncoding.EncodeToString(v.Bytes())
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = encode(v.Index(i))
		}
		return out
	case reflect.Map:
		out := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			out[fmt.Sprint(it.Key().Interface())] = encode(it.Value())
		}
		return out
	}
	return v.Interface()
}

func encodeStruct(v reflect.Value) map[string]any {
	out := map[string]any{}
	t := v.Type()
	for i := range t.NumField() {
		field := t.Field(i)
		name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
		if !field.IsExported() || name == "" || name == "-" || omitted(v.Field(i)) {
			continue
		}
		out[name] = encode(v.Field(i))
	}
	return out
}

// omitted reports the values the server leaves out: unset messages and optional fields (nil
// pointers), JSON values and Structs that are nil, zero Timestamps and Durations, empty enums.
func omitted(v reflect.Value) bool {
	switch {
	case v.Type() == timeType:
		return v.Interface().(time.Time).IsZero()
	case v.Type() == durationType:
		return v.Int() == 0
	case v.Kind() == reflect.String:
		return v.Type() != stringType && v.Len() == 0
	case v.Kind() == reflect.Pointer, v.Kind() == reflect.Interface:
		return v.IsNil()
	case v.Kind() == reflect.Map, v.Kind() == reflect.Slice:
		return v.IsNil() && v.Type().Elem().Kind() == reflect.Interface
	}
	return false
}
