using System;
using System.Globalization;
using System.IO;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Concord
{
    /// <summary>The kind of a <see cref="JsonValue"/>.</summary>
    public enum JsonValueKind
    {
        /// <summary>JSON null.</summary>
        Null,

        /// <summary>A string.</summary>
        String,

        /// <summary>A number.</summary>
        Number,

        /// <summary>true or false.</summary>
        Boolean,

        /// <summary>An array.</summary>
        Array,

        /// <summary>An object.</summary>
        Object,
    }

    /// <summary>
    /// An arbitrary JSON value (the contract's google.protobuf.Value): a field holding null is absent,
    /// a field holding <see cref="Null"/> sends JSON null. Immutable; strings, numbers and booleans convert implicitly.
    /// </summary>
    [JsonConverter(typeof(JsonValueConverter))]
    public sealed class JsonValue : IEquatable<JsonValue>
    {
        private readonly JToken _token;

        private JsonValue(JToken token)
        {
            _token = token;
        }

        /// <summary>JSON null, sent as a value (unlike a null reference, which leaves the field out).</summary>
        public static JsonValue Null { get; } = new JsonValue(JValue.CreateNull());

        /// <summary>The kind of this value.</summary>
        public JsonValueKind Kind
        {
            get
            {
                switch (_token.Type)
                {
                    case JTokenType.Null:
                        return JsonValueKind.Null;
                    case JTokenType.Integer:
                    case JTokenType.Float:
                        return JsonValueKind.Number;
                    case JTokenType.Boolean:
                        return JsonValueKind.Boolean;
                    case JTokenType.Array:
                        return JsonValueKind.Array;
                    case JTokenType.Object:
                        return JsonValueKind.Object;
                    default:
                        return JsonValueKind.String;
                }
            }
        }

        /// <summary>True for JSON null.</summary>
        public bool IsNull => _token.Type == JTokenType.Null;

        /// <summary>Parses JSON text; throws <see cref="FormatException"/> when it is not JSON.</summary>
        public static JsonValue Parse(string json)
        {
            Argument.NotNull(json, nameof(json));
            try
            {
                using (var reader = ConcordJson.CreateReader(new StringReader(json)))
                {
                    var token = JToken.ReadFrom(reader);
                    if (reader.Read())
                    {
                        throw new FormatException("Unexpected text after the JSON value.");
                    }
                    return new JsonValue(token);
                }
            }
            catch (JsonException e)
            {
                throw new FormatException("Not a JSON value: " + e.Message, e);
            }
        }

        /// <summary>The JSON form of any object (models, dictionaries, lists, scalars); null gives <see cref="Null"/>.</summary>
        public static JsonValue FromObject(object value)
        {
            if (value == null)
            {
                return Null;
            }
            var existing = value as JsonValue;
            return existing ?? new JsonValue(JToken.FromObject(value, ConcordJson.CreateSerializer()));
        }

        /// <summary>Wraps a Newtonsoft token (copied).</summary>
        public static JsonValue FromToken(JToken token)
        {
            return token == null ? Null : new JsonValue(token.DeepClone());
        }

        /// <summary>This value as a Newtonsoft token (a copy).</summary>
        public JToken ToToken()
        {
            return _token.DeepClone();
        }

        /// <summary>Converts this value to <typeparamref name="T"/> (a model, a list, a dictionary, a scalar).</summary>
        public T ToObject<T>()
        {
            return _token.ToObject<T>(ConcordJson.CreateReadingSerializer());
        }

        /// <summary>The compact JSON text of this value.</summary>
        public override string ToString()
        {
            return _token.ToString(Formatting.None);
        }

        /// <summary>True when both hold the same JSON.</summary>
        public bool Equals(JsonValue other)
        {
            return other != null && JToken.DeepEquals(_token, other._token);
        }

        /// <summary>True when <paramref name="obj"/> is a JsonValue holding the same JSON.</summary>
        public override bool Equals(object obj)
        {
            return Equals(obj as JsonValue);
        }

        /// <summary>A hash of the JSON text.</summary>
        public override int GetHashCode()
        {
            return ToString().GetHashCode();
        }

        /// <summary>A JSON string (null gives <see cref="Null"/>).</summary>
        public static implicit operator JsonValue(string value)
        {
            return value == null ? Null : new JsonValue(new JValue(value));
        }

        /// <summary>A JSON number.</summary>
        public static implicit operator JsonValue(long value)
        {
            return new JsonValue(new JValue(value));
        }

        /// <summary>A JSON number.</summary>
        public static implicit operator JsonValue(double value)
        {
            return new JsonValue(new JValue(value));
        }

        /// <summary>A JSON boolean.</summary>
        public static implicit operator JsonValue(bool value)
        {
            return new JsonValue(new JValue(value));
        }

        internal void WriteTo(JsonWriter writer)
        {
            _token.WriteTo(writer);
        }

        internal static JsonValue Wrap(JToken token)
        {
            return new JsonValue(token);
        }

        internal string ToInvariantString()
        {
            var value = _token as JValue;
            return value != null && value.Value != null ? Convert.ToString(value.Value, CultureInfo.InvariantCulture) : ToString();
        }
    }
}
