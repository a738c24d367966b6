package audit

import (
	"testing"
)

// BenchmarkRecord measures one Record with typical details: sanitizing
// and one insert through the single writer connection.
func BenchmarkRecord(b *testing.B) {
	r, _ := newRecorder(b, nil)
	e := Event{
		TenantID: "default", ActorID: "usr_01hzzzzzzzzzzzzzzzzzzzzzzz", Action: "source.deleted",
		TargetType: "source", TargetID: "src_01hzzzzzzzzzzzzzzzzzzzzzzz", Result: ResultSuccess,
		RequestID: "req-0123456789", RemoteAddr: "192.0.2.1:5555",
		Details: map[string]any{"kind": "upload", "size_bytes": 12345, "media_type": "application/pdf"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Record(b.Context(), e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList measures one page of 20 events of one tenant.
func BenchmarkList(b *testing.B) {
	r, _ := newRecorder(b, nil)
	for range 200 {
		mustRecord(b, r, Event{TenantID: "t1", ActorID: "usr_1", Action: "auth.login", Result: ResultSuccess, Details: map[string]any{"n": 1}})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.List(b.Context(), ListParams{TenantID: "t1"}); err != nil {
			b.Fatal(err)
		}
	}
}
