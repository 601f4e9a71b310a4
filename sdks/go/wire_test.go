package concord

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDurationForms(t *testing.T) {
	cases := map[time.Duration]string{
		0: "0s", 30 * time.Second: "30s", 1500 * time.Millisecond: "1.500s", 250 * time.Millisecond: "0.250s",
		time.Microsecond: "0.000001s", time.Nanosecond: "0.000000001s", -1500 * time.Millisecond: "-1.500s",
		-250 * time.Millisecond: "-0.250s", -5 * time.Second: "-5s",
	}
	for d, text := range cases {
		if got := FormatDuration(d); got != text {
			t.Errorf("FormatDuration(%s) = %q, want %q", d, got, text)
		}
		if back, err := ParseDuration(text); err != nil || back != d {
			t.Errorf("ParseDuration(%q) = %s, %v", text, back, err)
		}
	}
	if d, err := ParseDuration("1.5s"); err != nil || d != 1500*time.Millisecond {
		t.Errorf("ParseDuration(1.5s) = %s, %v", d, err)
	}
	for _, bad := range []string{"", "s", "1", "1.5", "1m", "1.1234567891s", "abc s", "+1s", "1.-5s", "999999999999s"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}

func TestTimestampForm(t *testing.T) {
	local := time.FixedZone("CET", 3600)
	cases := map[time.Time]string{
		time.Date(2026, 11, 23, 11, 0, 0, 0, local):           "2026-11-23T10:00:00Z",
		time.Date(2026, 11, 23, 10, 0, 0, 123e6, time.UTC):    "2026-11-23T10:00:00.123Z",
		time.Date(2026, 11, 23, 10, 0, 0, 123456e3, time.UTC): "2026-11-23T10:00:00.123456Z",
		time.Date(2026, 11, 23, 10, 0, 0, 1, time.UTC):        "2026-11-23T10:00:00.000000001Z",
	}
	for at, text := range cases {
		if got := FormatTimestamp(at); got != text {
			t.Errorf("FormatTimestamp(%s) = %q, want %q", at, got, text)
		}
	}
}

func TestModelJSONRoundTrip(t *testing.T) {
	in := `{"name":"jobs","owner":"w1","fencing_token":7,"acquired_at":"2026-11-23T11:00:00.5+01:00","ttl":"30s"}`
	var lock Lock
	if err := json.Unmarshal([]byte(in), &lock); err != nil {
		t.Fatal(err)
	}
	if !lock.ExpiresAt.IsZero() || lock.TTL != 30*time.Second || lock.AcquiredAt.Nanosecond() != 5e8 {
		t.Fatalf("lock %+v", lock)
	}
	out, err := json.Marshal(lock)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"jobs","owner":"w1","fencing_token":7,"acquired_at":"2026-11-23T10:00:00.500Z","ttl":"30s"}`
	if string(out) != want {
		t.Fatalf("marshal %s\nwant    %s", out, want)
	}
	for _, bad := range []string{`{"ttl":"30"}`, `{"ttl":30}`, `{"acquired_at":"yesterday"}`} {
		if err := json.Unmarshal([]byte(bad), &lock); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestNestedModelsAndValues(t *testing.T) {
	in := `{"sagas":[{"saga_id":"s1","state":"RUNNING","input":{"amount":12.5,"items":[1,"a",null]},` +
		`"definition":{"name":"order","steps":[{"name":"charge","action":{"task":{"task_type":"charge"}},"retry":{"initial_backoff":"1s"}}]}}],"next_page_token":""}`
	var page ListSagasResponse
	if err := json.Unmarshal([]byte(in), &page); err != nil {
		t.Fatal(err)
	}
	saga := page.Sagas[0]
	step := saga.Definition.Steps[0]
	if saga.State != SagaStateRunning || step.Action.Task.TaskType != "charge" || step.Action.HTTP != nil ||
		step.Retry.InitialBackoff == nil || *step.Retry.InitialBackoff != time.Second || saga.Input.(map[string]any)["amount"] != 12.5 {
		t.Fatalf("saga %+v", saga)
	}
}

func TestEnumValues(t *testing.T) {
	values := SagaStateRunning.Values()
	if len(values) != 5 || values[0] != SagaStateRunning || string(values[4]) != "FAILED" {
		t.Fatalf("values %v", values)
	}
}

func TestPtr(t *testing.T) {
	if p := Ptr[int64](3); *p != 3 {
		t.Fatal("Ptr")
	}
}
