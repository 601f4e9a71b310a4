using System;
using System.IO;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Concord
{
    /// <summary>
    /// Reads and writes models in the contract's JSON form: snake_case names, Durations as "1.5s", Timestamps
    /// as RFC 3339, enums as strings, unset fields and zero values of fields without presence left out.
    /// </summary>
    public static class ConcordJson
    {
        /// <summary>New serializer settings of the contract's form.</summary>
        public static JsonSerializerSettings CreateSettings()
        {
            return new JsonSerializerSettings
            {
                NullValueHandling = NullValueHandling.Ignore,
                DefaultValueHandling = DefaultValueHandling.Ignore,
                DateParseHandling = DateParseHandling.None,
                FloatParseHandling = FloatParseHandling.Double,
                MissingMemberHandling = MissingMemberHandling.Ignore,
                Formatting = Formatting.None,
            };
        }

        /// <summary>A new serializer of the contract's form.</summary>
        public static JsonSerializer CreateSerializer()
        {
            return JsonSerializer.Create(CreateSettings());
        }

        /// <summary>A serializer that reads JSON null into a JSON-value field (writing leaves null references out).</summary>
        internal static JsonSerializer CreateReadingSerializer()
        {
            var settings = CreateSettings();
            settings.NullValueHandling = NullValueHandling.Include;
            settings.DefaultValueHandling = DefaultValueHandling.Include;
            return JsonSerializer.Create(settings);
        }

        /// <summary>The contract JSON of a model.</summary>
        public static string Serialize(object value)
        {
            return JsonConvert.SerializeObject(value, CreateSettings());
        }

        /// <summary>A model read from contract JSON; throws <see cref="FormatException"/> for JSON that does not fit.</summary>
        public static T Deserialize<T>(string json)
        {
            Argument.NotNull(json, nameof(json));
            try
            {
                using (var reader = CreateReader(new StringReader(json)))
                {
                    return CreateReadingSerializer().Deserialize<T>(reader);
                }
            }
            catch (JsonException e)
            {
                throw new FormatException("JSON does not fit " + typeof(T).Name + ": " + e.Message, e);
            }
        }

        internal static JsonTextReader CreateReader(TextReader text)
        {
            return new JsonTextReader(text) { DateParseHandling = DateParseHandling.None, FloatParseHandling = FloatParseHandling.Double };
        }
    }

    /// <summary>Writes and reads a <see cref="JsonValue"/>; JSON null becomes <see cref="JsonValue.Null"/>.</summary>
    internal sealed class JsonValueConverter : JsonConverter
    {
        /// <inheritdoc/>
        public override bool CanConvert(Type objectType)
        {
            return objectType == typeof(JsonValue);
        }

        /// <inheritdoc/>
        public override void WriteJson(JsonWriter writer, object value, JsonSerializer serializer)
        {
            var json = (JsonValue)value;
            if (json == null)
            {
                writer.WriteNull();
            }
            else
            {
                json.WriteTo(writer);
            }
        }

        /// <inheritdoc/>
        public override object ReadJson(JsonReader reader, Type objectType, object existingValue, JsonSerializer serializer)
        {
            return JsonValue.Wrap(JToken.ReadFrom(reader));
        }
    }

    /// <summary>Writes a TimeSpan as the contract's Duration ("1.5s") and reads it back.</summary>
    internal sealed class DurationConverter : JsonConverter
    {
        /// <inheritdoc/>
        public override bool CanConvert(Type objectType)
        {
            return objectType == typeof(TimeSpan) || objectType == typeof(TimeSpan?);
        }

        /// <inheritdoc/>
        public override void WriteJson(JsonWriter writer, object value, JsonSerializer serializer)
        {
            if (value == null)
            {
                writer.WriteNull();
                return;
            }
            writer.WriteValue(Wire.FormatDuration((TimeSpan)value));
        }

        /// <inheritdoc/>
        public override object ReadJson(JsonReader reader, Type objectType, object existingValue, JsonSerializer serializer)
        {
            if (reader.TokenType == JsonToken.Null)
            {
                return null;
            }
            if (reader.TokenType != JsonToken.String)
            {
                throw new JsonSerializationException("A duration must be a string like \"1.5s\", not " + reader.TokenType + ".");
            }
            try
            {
                return Wire.ParseDuration((string)reader.Value);
            }
            catch (FormatException e)
            {
                throw new JsonSerializationException(e.Message, e);
            }
        }
    }

    /// <summary>Writes a DateTimeOffset as the contract's Timestamp (RFC 3339, UTC) and reads it back.</summary>
    internal sealed class TimestampConverter : JsonConverter
    {
        /// <inheritdoc/>
        public override bool CanConvert(Type objectType)
        {
            return objectType == typeof(DateTimeOffset) || objectType == typeof(DateTimeOffset?);
        }

        /// <inheritdoc/>
        public override void WriteJson(JsonWriter writer, object value, JsonSerializer serializer)
        {
            if (value == null)
            {
                writer.WriteNull();
                return;
            }
            writer.WriteValue(Wire.FormatTimestamp((DateTimeOffset)value));
        }

        /// <inheritdoc/>
        public override object ReadJson(JsonReader reader, Type objectType, object existingValue, JsonSerializer serializer)
        {
            switch (reader.TokenType)
            {
                case JsonToken.Null:
                    return null;
                case JsonToken.Date:
                    return reader.Value is DateTimeOffset ? (DateTimeOffset)reader.Value : new DateTimeOffset(((DateTime)reader.Value).ToUniversalTime());
                case JsonToken.String:
                    try
                    {
                        return Wire.ParseTimestamp((string)reader.Value);
                    }
                    catch (FormatException e)
                    {
                        throw new JsonSerializationException(e.Message, e);
                    }
                default:
                    throw new JsonSerializationException("A timestamp must be an RFC 3339 string, not " + reader.TokenType + ".");
            }
        }
    }

    /// <summary>Writes an extensible enum (a string struct) as its string and reads any string, known or not.</summary>
    internal sealed class WireEnumConverter : JsonConverter
    {
        /// <inheritdoc/>
        public override bool CanConvert(Type objectType)
        {
            var type = Nullable.GetUnderlyingType(objectType) ?? objectType;
            return typeof(IWireEnum).IsAssignableFrom(type);
        }

        /// <inheritdoc/>
        public override void WriteJson(JsonWriter writer, object value, JsonSerializer serializer)
        {
            var text = value == null ? null : value.ToString();
            if (text == null)
            {
                writer.WriteNull();
            }
            else
            {
                writer.WriteValue(text);
            }
        }

        /// <inheritdoc/>
        public override object ReadJson(JsonReader reader, Type objectType, object existingValue, JsonSerializer serializer)
        {
            var type = Nullable.GetUnderlyingType(objectType);
            if (reader.TokenType == JsonToken.Null)
            {
                return type != null ? null : Activator.CreateInstance(objectType);
            }
            if (reader.TokenType != JsonToken.String)
            {
                throw new JsonSerializationException("An enum value must be a string, not " + reader.TokenType + ".");
            }
            return Activator.CreateInstance(type ?? objectType, (string)reader.Value);
        }
    }

    /// <summary>Marks the extensible enums of the contract: string-valued structs that keep unknown values.</summary>
    internal interface IWireEnum
    {
    }
}
