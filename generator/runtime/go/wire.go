package concord

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Ptr returns a pointer to v, for optional fields: ExpectedRevision: concord.Ptr[int64](4).
func Ptr[T any](v T) *T { return &v }

// jsonTime is a Timestamp on the wire: RFC 3339 in UTC, with 0, 3, 6 or 9 fractional digits.
type jsonTime time.Time

func (t jsonTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(FormatTimestamp(time.Time(t)))
}

func (t *jsonTime) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("concord: timestamp: %w", err)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("concord: timestamp %q is not RFC 3339", s)
	}
	*t = jsonTime(v)
	return nil
}

// jsonDuration is a Duration on the wire: seconds with an "s" suffix ("30s", "0.250s").
type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(FormatDuration(time.Duration(d)))
}

func (d *jsonDuration) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("concord: duration: %w", err)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = jsonDuration(v)
	return nil
}

func timeOut(t time.Time) *jsonTime {
	if t.IsZero() {
		return nil
	}
	v := jsonTime(t)
	return &v
}

func timeIn(t *jsonTime) time.Time {
	if t == nil {
		return time.Time{}
	}
	return time.Time(*t)
}

func durationOut(d time.Duration) *jsonDuration {
	if d == 0 {
		return nil
	}
	v := jsonDuration(d)
	return &v
}

func durationIn(d *jsonDuration) time.Duration {
	if d == nil {
		return 0
	}
	return time.Duration(*d)
}

// The *Ptr helpers encode fields with presence: nil is left out, anything else is sent, zero
// included ("0s", "0001-01-01T00:00:00Z").
func timePtrOut(t *time.Time) *jsonTime { return (*jsonTime)(t) }

func timePtrIn(t *jsonTime) *time.Time { return (*time.Time)(t) }

func durationPtrOut(d *time.Duration) *jsonDuration { return (*jsonDuration)(d) }

func durationPtrIn(d *jsonDuration) *time.Duration { return (*time.Duration)(d) }

// The *Req helpers encode required fields: always sent, a zero Duration as "0s".
func durationReqOut(d time.Duration) *jsonDuration {
	v := jsonDuration(d)
	return &v
}

func durationReqIn(d *jsonDuration) time.Duration { return durationIn(d) }

func timeReqOut(t time.Time) *jsonTime {
	v := jsonTime(t)
	return &v
}

func timeReqIn(t *jsonTime) time.Time { return timeIn(t) }

// NullValue is the type of Null.
type NullValue struct{}

// MarshalJSON writes JSON null.
func (NullValue) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

// jsonNulls is the set of top-level members of a JSON object that are null.
func jsonNulls(data []byte) map[string]bool {
	var members map[string]json.RawMessage
	if json.Unmarshal(data, &members) != nil {
		return nil
	}
	nulls := map[string]bool{}
	for name, raw := range members {
		if string(raw) == "null" {
			nulls[name] = true
		}
	}
	return nulls
}

// Null is an explicit JSON null for a google.protobuf.Value field (a cache value, event data, a
// saga's input or a task's output): `Value: concord.Null` sends null, while a nil Value is
// left out. Reading keeps the difference too: a null the server sent is Null, an absent one nil.
var Null = NullValue{}

// FormatTimestamp writes t as the contract does: RFC 3339 in UTC, "2026-11-23T10:00:00.123Z".
func FormatTimestamp(t time.Time) string {
	t = t.UTC()
	return t.Format("2006-01-02T15:04:05") + fraction(int64(t.Nanosecond())) + "Z"
}

// FormatDuration writes d as the contract does: "30s", "0.250s", "-1.500s".
func FormatDuration(d time.Duration) string {
	sign, n := "", int64(d)
	secs, nanos := n/1e9, n%1e9
	if n < 0 {
		sign, secs, nanos = "-", -secs, -nanos
	}
	return sign + strconv.FormatInt(secs, 10) + fraction(nanos) + "s"
}

// fraction is ".123", ".123456" or ".123456789" (or "" for 0), like protobuf's JSON.
func fraction(nanos int64) string {
	switch {
	case nanos == 0:
		return ""
	case nanos%1e6 == 0:
		return fmt.Sprintf(".%03d", nanos/1e6)
	case nanos%1e3 == 0:
		return fmt.Sprintf(".%06d", nanos/1e3)
	}
	return fmt.Sprintf(".%09d", nanos)
}

// ParseDuration reads the contract's duration form: decimal seconds with an "s" suffix.
func ParseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("concord: duration %q is not decimal seconds like \"1.5s\"", s)
	body, ok := strings.CutSuffix(s, "s")
	if !ok || body == "" {
		return 0, bad
	}
	negative := strings.HasPrefix(body, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(body, "-"), ".")
	if whole == "" || len(frac) > 9 || strings.ContainsAny(whole+frac, "+-") {
		return 0, bad
	}
	secs, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || secs > 315576000000 {
		return 0, bad
	}
	nanos := int64(0)
	if frac != "" {
		if nanos, err = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64); err != nil {
			return 0, bad
		}
	}
	d := time.Duration(secs)*time.Second + time.Duration(nanos)
	if d < 0 || d/time.Second != time.Duration(secs) {
		return 0, fmt.Errorf("concord: duration %q overflows time.Duration", s)
	}
	if negative {
		d = -d
	}
	return d, nil
}

// addQuery adds a non-zero value to the query string.
func addQuery[T comparable](q url.Values, name string, v T) {
	var zero T
	if v != zero {
		q.Add(name, fmt.Sprint(v))
	}
}

// addQueryPtr adds an optional value to the query string when it is set.
func addQueryPtr[T any](q url.Values, name string, v *T) {
	if v != nil {
		q.Add(name, fmt.Sprint(*v))
	}
}

// addQueryList adds every value of a repeated field (the key repeats).
func addQueryList[T any](q url.Values, name string, values []T) {
	for _, v := range values {
		q.Add(name, fmt.Sprint(v))
	}
}

func addQueryTime(q url.Values, name string, t time.Time) {
	if !t.IsZero() {
		q.Add(name, FormatTimestamp(t))
	}
}

func addQueryDuration(q url.Values, name string, d time.Duration) {
	if d != 0 {
		q.Add(name, FormatDuration(d))
	}
}

func addQueryBytes(q url.Values, name string, b []byte) {
	if len(b) > 0 {
		q.Add(name, base64.StdEncoding.EncodeToString(b))
	}
}
