/**
 * The contract's JSON forms (docs/contract.md): models are the wire JSON itself, with snake_case
 * names, int64 as `number`, RFC 3339 strings for Timestamps and `"1.5s"` strings for Durations.
 */

/** Any JSON value: `google.protobuf.Value`. `null` is a value like any other. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** A JSON object: `google.protobuf.Struct`. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/** `google.protobuf.Duration` in its JSON form: seconds with an `s`, e.g. `"30s"`, `"0.250s"`. */
export type Duration = `${number}s`;

/** `google.protobuf.Timestamp` in its JSON form: an RFC 3339 string in UTC. */
export type Timestamp = string;

/** A Duration of `ms` milliseconds: `duration(1500)` is `"1.500s"`, `duration(0)` is `"0s"`. */
export function duration(ms: number): Duration {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`a duration must be a finite number of milliseconds >= 0, got ${ms}`);
  }
  const millis = Math.round(ms);
  const seconds = Math.floor(millis / 1000);
  const rest = millis % 1000;
  return rest === 0 ? `${seconds}s` : (`${seconds}.${String(rest).padStart(3, '0')}s` as Duration);
}

/** The milliseconds of a Duration string (`"1.5s"` is 1500); RangeError for anything else. */
export function durationToMs(value: Duration | string): number {
  const match = /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(value);
  if (match === null) {
    throw new RangeError(`not a Duration (like "30s" or "0.250s"): ${JSON.stringify(value)}`);
  }
  const whole = Number(match[1]);
  const fraction = Number(`0.${match[2] ?? '0'}`);
  return Math.round((Math.abs(whole) + fraction) * 1000) * (value.startsWith('-') ? -1 : 1);
}

/** A Timestamp string of a `Date` (or of now), e.g. `"2026-11-23T10:00:00.123Z"`. */
export function timestamp(date: Date = new Date()): Timestamp {
  return date.toISOString();
}

/** A random UUID (version 4), e.g. for `EventData.event_id`. */
export function randomUUID(): string {
  return globalThis.crypto.randomUUID();
}

/** One path segment, percent-encoded; a missing or empty value is a TypeError. */
export function pathSegment(rpc: string, field: string, value: unknown): string {
  if ((typeof value !== 'string' && typeof value !== 'number') || value === '') {
    throw new TypeError(`${rpc}: ${field} must be a non-empty string or a number`);
  }
  return encodeURIComponent(String(value));
}

/**
 * The query string of request fields: lists repeat their key, message fields are flattened to
 * dotted names (`filter.state`), absent values are left out.
 */
export function queryString(fields: Record<string, unknown>): string {
  const query = new URLSearchParams();
  addQuery(query, '', fields);
  const text = query.toString();
  return text ? `?${text}` : '';
}

function addQuery(query: URLSearchParams, prefix: string, fields: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(fields)) {
    const key = prefix + name;
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined || item === null) {
        continue;
      }
      if (typeof item === 'object') {
        addQuery(query, `${key}.`, item as Record<string, unknown>);
      } else {
        query.append(key, String(item));
      }
    }
  }
}

/** Any string: ends an enum's union so that values a newer server sends still type-check. */
export type OtherString = string & NonNullable<unknown>;
