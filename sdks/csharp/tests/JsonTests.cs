using System;
using System.Collections.Generic;
using Concord;
using NUnit.Framework;

namespace Concord.Tests
{
    [TestFixture]
    public class JsonTests
    {
        [Test]
        public void WritesDurationsAsTheContractDoes()
        {
            Assert.AreEqual("30s", Wire.FormatDuration(TimeSpan.FromSeconds(30)));
            Assert.AreEqual("0.250s", Wire.FormatDuration(TimeSpan.FromMilliseconds(250)));
            Assert.AreEqual("-1.500s", Wire.FormatDuration(TimeSpan.FromMilliseconds(-1500)));
            Assert.AreEqual("0.000000100s", Wire.FormatDuration(TimeSpan.FromTicks(1)));
            Assert.AreEqual("0s", Wire.FormatDuration(TimeSpan.Zero));
        }

        [Test]
        public void ReadsDurations()
        {
            Assert.AreEqual(TimeSpan.FromSeconds(1.5), Wire.ParseDuration("1.5s"));
            Assert.AreEqual(TimeSpan.FromMilliseconds(-1), Wire.ParseDuration("-0.001s"));
            Assert.AreEqual(TimeSpan.FromTicks(1), Wire.ParseDuration("0.000000123s"));
            Assert.Throws<FormatException>(() => Wire.ParseDuration("1m"));
            Assert.Throws<FormatException>(() => Wire.ParseDuration("1.0000000001s"));
            Assert.Throws<FormatException>(() => Wire.ParseDuration("+1s"));
        }

        [Test]
        public void RoundTripsTimestampsInUtc()
        {
            var at = new DateTimeOffset(2026, 11, 23, 12, 0, 0, 123, TimeSpan.FromHours(2));
            Assert.AreEqual("2026-11-23T10:00:00.123Z", Wire.FormatTimestamp(at));
            Assert.AreEqual(at, Wire.ParseTimestamp("2026-11-23T10:00:00.123456789Z").AddTicks(-4567));
            Assert.AreEqual(at, Wire.ParseTimestamp("2026-11-23T12:00:00.123+02:00"));
            Assert.Throws<FormatException>(() => Wire.ParseTimestamp("yesterday"));
        }

        [Test]
        public void PresenceSendsZeroAndNullButOmitsAbsent()
        {
            var zero = ConcordJson.Serialize(new AcquireLockParams { Owner = "w", Ttl = TimeSpan.Zero });
            Assert.AreEqual("{\"owner\":\"w\",\"ttl\":\"0s\"}", zero);
            var nothing = ConcordJson.Serialize(new SetCacheEntryParams());
            Assert.AreEqual("{}", nothing);
            var jsonNull = ConcordJson.Serialize(new SetCacheEntryParams { Value = JsonValue.Null });
            Assert.AreEqual("{\"value\":null}", jsonNull);
            var revision = ConcordJson.Serialize(new AppendToStreamParams { ExpectedRevision = 0 });
            Assert.AreEqual("{\"events\":[],\"expected_revision\":0}", revision);
        }

        [Test]
        public void ReadsJsonNullAsAValueAndAbsentAsNull()
        {
            var present = ConcordJson.Deserialize<CacheEntry>("{\"key\":\"k\",\"value\":null}");
            Assert.IsTrue(present.Value.IsNull);
            var absent = ConcordJson.Deserialize<CacheEntry>("{\"key\":\"k\"}");
            Assert.IsNull(absent.Value);
        }

        [Test]
        public void JsonValuesKeepTheirKinds()
        {
            var value = JsonValue.Parse("[1, 2.5, \"2026-01-01T00:00:00Z\", true, null, {\"a\": 9007199254740991}]");
            Assert.AreEqual(JsonValueKind.Array, value.Kind);
            Assert.AreEqual("[1,2.5,\"2026-01-01T00:00:00Z\",true,null,{\"a\":9007199254740991}]", value.ToString());
            Assert.AreEqual(JsonValue.FromObject(new Dictionary<string, object> { { "n", 1 } }), JsonValue.Parse("{\"n\":1}"));
            JsonValue text = "hi";
            Assert.AreEqual(JsonValueKind.String, text.Kind);
            Assert.Throws<FormatException>(() => JsonValue.Parse("{oops"));
        }

        [Test]
        public void EnumsKeepUnknownValues()
        {
            var response = ConcordJson.Deserialize<WatchLocksResponse>("{\"type\":\"TRANSFERRED\"}");
            Assert.AreEqual("TRANSFERRED", response.Type.ToString());
            Assert.AreNotEqual(LockEventType.Acquired, response.Type);
            Assert.AreEqual("{\"type\":\"TRANSFERRED\"}", ConcordJson.Serialize(response));
            Assert.AreEqual("{}", ConcordJson.Serialize(new WatchLocksResponse()));
            CollectionAssert.Contains(LockEventType.Values, LockEventType.Expired);
        }

        [Test]
        public void ModelsIgnoreFieldsNewerThanTheSdk()
        {
            var result = ConcordJson.Deserialize<GetLivenessResponse>("{\"status\":\"SERVING\",\"added_later\":{\"x\":1}}");
            Assert.AreEqual(ServingStatus.Serving, result.Status);
        }

        [Test]
        public void BadJsonIsAFormatException()
        {
            Assert.Throws<FormatException>(() => ConcordJson.Deserialize<Lock>("{\"ttl\":5}"));
            Assert.Throws<FormatException>(() => ConcordJson.Deserialize<Lock>("{\"acquired_at\":\"noon\"}"));
        }
    }
}
