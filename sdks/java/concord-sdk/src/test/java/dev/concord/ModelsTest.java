package dev.concord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.NullNode;
import dev.concord.core.Json;
import dev.concord.core.ProtoTime;
import dev.concord.models.AcquireLockParams;
import dev.concord.models.AppendToStreamParams;
import dev.concord.models.CacheEntry;
import dev.concord.models.ExpectedStreamState;
import dev.concord.models.Lock;
import dev.concord.models.ReadDirection;
import dev.concord.models.SetCacheEntryParams;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelsTest {
  @Test
  void zeroDurationIsSentNotOmitted() {
    AcquireLockParams params =
        AcquireLockParams.builder()
            .owner("o")
            .ttl(Duration.ofMillis(250))
            .waitTimeout(Duration.ZERO)
            .build();
    assertEquals(
        "{\"owner\":\"o\",\"ttl\":\"0.250s\",\"wait_timeout\":\"0s\"}",
        Json.write(params.toJson()));
    assertEquals(
        "{\"owner\":\"o\"}",
        Json.write(params.toBuilder().ttl(null).waitTimeout(null).build().toJson()));
  }

  @Test
  void jsonNullValueIsSentAndAbsentIsOmitted() {
    SetCacheEntryParams explicitNull = SetCacheEntryParams.builder().value(null).build();
    assertEquals("{\"value\":null}", Json.write(explicitNull.toJson()));
    assertEquals(NullNode.getInstance(), explicitNull.value().orElseThrow());
    SetCacheEntryParams absent = explicitNull.toBuilder().clearValue().build();
    assertEquals("{}", Json.write(absent.toJson()));
    SetCacheEntryParams map =
        SetCacheEntryParams.builder().value(Json.toNode(Map.of("a", List.of(1, 2)))).build();
    assertEquals("{\"value\":{\"a\":[1,2]}}", Json.write(map.toJson()));
  }

  @Test
  void responsesKeepAbsentApartFromNull() {
    CacheEntry withNull = CacheEntry.fromJson(Json.parse("{\"key\":\"k\",\"value\":null}"));
    assertTrue(withNull.value().orElseThrow().isNull());
    CacheEntry without = CacheEntry.fromJson(Json.parse("{\"key\":\"k\"}"));
    assertFalse(without.value().isPresent());
  }

  @Test
  void optionalIntegersSendZero() {
    AppendToStreamParams params = AppendToStreamParams.builder().expectedRevision(0).build();
    assertEquals("{\"expected_revision\":0}", Json.write(params.toJson()));
    assertEquals(0L, params.expectedRevision().orElseThrow());
    assertFalse(AppendToStreamParams.builder().build().expectedRevision().isPresent());
  }

  @Test
  void enumsSurviveUnknownValues() {
    assertEquals(ReadDirection.BACKWARD, ReadDirection.of("BACKWARD"));
    ExpectedStreamState maybe = ExpectedStreamState.of("MAYBE");
    assertFalse(maybe.isKnown());
    assertEquals(ExpectedStreamState.Known._UNKNOWN, maybe.known());
    assertEquals(
        "{\"expected_state\":\"MAYBE\"}",
        Json.write(AppendToStreamParams.builder().expectedState(maybe).build().toJson()));
    assertEquals(ExpectedStreamState.Known.NO_STREAM, ExpectedStreamState.NO_STREAM.known());
    assertEquals(3, ExpectedStreamState.values().size());
  }

  @Test
  void modelsRoundTripAndCompareByValue() {
    String text =
        "{\"name\":\"a\",\"owner\":\"o\",\"fencing_token\":9007199254740991,"
            + "\"acquired_at\":\"2026-11-23T10:00:00.123Z\",\"ttl\":\"30s\",\"extra\":1}";
    Lock lock = Lock.fromJson(Json.parse(text));
    assertEquals(9007199254740991L, lock.fencingToken());
    assertEquals(Instant.parse("2026-11-23T10:00:00.123Z"), lock.acquiredAt().orElseThrow());
    assertEquals(Duration.ofSeconds(30), lock.ttl().orElseThrow());
    assertEquals(lock, Lock.fromJson(lock.toJson()));
    assertEquals(lock.hashCode(), Lock.fromJson(lock.toJson()).hashCode());
    assertNotEquals(lock, lock.toBuilder().owner("p").build());
    assertFalse(lock.toJson().has("extra"));
  }

  @Test
  void listsAreImmutable() {
    AppendToStreamParams params = AppendToStreamParams.builder().build();
    assertThrows(UnsupportedOperationException.class, () -> params.events().add(null));
  }

  @Test
  void protoTimeForms() {
    assertEquals("0s", ProtoTime.formatDuration(Duration.ZERO));
    assertEquals("-1.500s", ProtoTime.formatDuration(Duration.ofMillis(-1500)));
    assertEquals("-0.000001s", ProtoTime.formatDuration(Duration.ofNanos(-1000)));
    assertEquals(Duration.ofMillis(10), ProtoTime.parseDuration("0.010s"));
    assertEquals(Duration.ofMillis(-5000), ProtoTime.parseDuration("-5s"));
    assertThrows(IllegalArgumentException.class, () -> ProtoTime.parseDuration("5m"));
    assertEquals(
        "2026-01-02T03:04:05Z", ProtoTime.formatTimestamp(Instant.parse("2026-01-02T03:04:05Z")));
    assertEquals(
        Instant.parse("2026-01-02T02:04:05Z"),
        ProtoTime.parseTimestamp("2026-01-02T03:04:05+01:00"));
  }
}
