package audit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"go.uber.org/goleak"

	"github.com/quarryhq/quarry/storage"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newDB(t testing.TB) *storage.DB {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, storage.Config{Path: filepath.Join(t.TempDir(), "quarry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

func newRecorder(t testing.TB, mod func(*Config)) (*Recorder, *storage.DB) {
	t.Helper()
	db := newDB(t)
	cfg := Config{DB: db}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r, db
}

func ev(tenant, actor, action string) Event {
	return Event{TenantID: tenant, ActorID: actor, Action: action, Result: ResultSuccess}
}

func mustRecord(t testing.TB, r *Recorder, e Event) {
	t.Helper()
	if err := r.Record(context.Background(), e); err != nil {
		t.Fatalf("Record(%+v): %v", e, err)
	}
}

func mustList(t testing.TB, r *Recorder, p ListParams) *ListPage {
	t.Helper()
	page, err := r.List(context.Background(), p)
	if err != nil {
		t.Fatalf("List(%+v): %v", p, err)
	}
	if page.Items == nil {
		t.Fatalf("List(%+v): nil Items", p)
	}
	return page
}

func actions(p *ListPage) []string {
	var out []string
	for _, e := range p.Items {
		out = append(out, e.Action)
	}
	return out
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "Config.DB") {
		t.Fatalf("New(Config{}) = %v, want an error naming Config.DB", err)
	}
}

func TestRecordAndListNewestFirst(t *testing.T) {
	t.Parallel()
	clock := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	r, _ := newRecorder(t, func(c *Config) { c.Now = func() time.Time { return clock } })
	ctx := t.Context()

	full := Event{
		TenantID: "t1", ActorID: "usr_1", Action: "source.deleted",
		TargetType: "source", TargetID: "src_1", Result: ResultSuccess,
		RequestID: "req-1", RemoteAddr: "192.0.2.1:5555",
		Details: map[string]any{"size_bytes": 42, "kind": "upload"},
	}
	mustRecord(t, r, full)
	mustRecord(t, r, ev("t1", "usr_1", "auth.login"))
	mustRecord(t, r, Event{TenantID: "t1", Action: "auth.login_failed", Result: ResultFailure})
	if err := r.Record(ctx, Event{TenantID: "t1", ActorType: ActorSystem, Action: "extraction.failed", Result: ResultFailure, Time: clock.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}

	page := mustList(t, r, ListParams{TenantID: "t1"})
	if got, want := actions(page), []string{"extraction.failed", "auth.login_failed", "auth.login", "source.deleted"}; !slices.Equal(got, want) {
		t.Fatalf("actions = %v, want %v (newest first)", got, want)
	}
	if page.NextCursor != "" {
		t.Errorf("NextCursor = %q on the only page", page.NextCursor)
	}
	for i := 1; i < len(page.Items); i++ {
		if page.Items[i-1].ID <= page.Items[i].ID {
			t.Errorf("ids not descending: %s then %s", page.Items[i-1].ID, page.Items[i].ID)
		}
	}

	got := page.Items[3]
	if !validID(got.ID) {
		t.Errorf("ID = %q, want aud_ + lower-case ULID", got.ID)
	}
	want := full
	want.ID = got.ID
	want.Time = clock.Truncate(time.Microsecond)
	want.ActorType = ActorUser
	want.Details = map[string]any{"size_bytes": float64(42), "kind": "upload"}
	if fmt.Sprint(*got) != fmt.Sprint(want) {
		t.Errorf("event\n got %+v\nwant %+v", *got, want)
	}
	if !got.Time.Equal(want.Time) || got.Time.Location() != time.UTC {
		t.Errorf("Time = %v, want %v UTC", got.Time, want.Time)
	}
	if anon := page.Items[1]; anon.ActorType != ActorAnonymous || anon.Details == nil || len(anon.Details) != 0 {
		t.Errorf("anonymous event = %+v, want actor type anonymous and empty non-nil details", anon)
	}
	if sys := page.Items[0]; sys.ActorType != ActorSystem || !sys.Time.Equal(clock.Add(-time.Hour).Truncate(time.Microsecond)) {
		t.Errorf("system event = %+v, want actor type system and the given time", sys)
	}

	// The event marshals with the snake_case names of the admin endpoint.
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"id"`, `"time"`, `"tenant_id"`, `"actor_id"`, `"actor_type"`, `"target_type"`, `"request_id"`, `"remote_addr"`, `"details"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON %s lacks %s", b, k)
		}
	}
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	r, _ := newRecorder(t, nil)
	mustRecord(t, r, ev("t1", "alice", "auth.login"))
	mustRecord(t, r, ev("t1", "bob", "auth.login"))
	mustRecord(t, r, ev("t1", "alice", "source.deleted"))
	mustRecord(t, r, ev("t1", "bob", "flags.updated"))
	mustRecord(t, r, ev("t2", "alice", "auth.login"))

	tests := []struct {
		name string
		p    ListParams
		want []string // actor/action pairs, newest first
	}{
		{"action", ListParams{TenantID: "t1", Action: "auth.login"}, []string{"bob/auth.login", "alice/auth.login"}},
		{"actor", ListParams{TenantID: "t1", Actor: "alice"}, []string{"alice/source.deleted", "alice/auth.login"}},
		{"both", ListParams{TenantID: "t1", Actor: "bob", Action: "flags.updated"}, []string{"bob/flags.updated"}},
		{"no match", ListParams{TenantID: "t1", Action: "nothing.here"}, nil},
		{"every tenant", ListParams{Actor: "alice"}, []string{"alice/auth.login", "alice/source.deleted", "alice/auth.login"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			page := mustList(t, r, tt.p)
			var got []string
			for _, e := range page.Items {
				got = append(got, e.ActorID+"/"+e.Action)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	r, _ := newRecorder(t, nil)
	for i := range 30 {
		mustRecord(t, r, ev("A", "usr_a", "source.deleted"))
		if i%3 == 0 {
			mustRecord(t, r, ev("B", "usr_b", "source.deleted"))
		}
	}
	mustRecord(t, r, ev("", "", "auth.login_failed")) // no tenant

	// Walk every page of A, with and without filters, including filters
	// that name B's actor: nothing of B (or of no tenant) ever shows.
	for _, p := range []ListParams{
		{TenantID: "A", Limit: 7},
		{TenantID: "A", Actor: "usr_b"},
		{TenantID: "A", Action: "auth.login_failed"},
	} {
		n := 0
		for {
			page := mustList(t, r, p)
			for _, e := range page.Items {
				n++
				if e.TenantID != "A" {
					t.Fatalf("List(%+v) returned %+v of tenant %q", p, e, e.TenantID)
				}
			}
			if page.NextCursor == "" {
				break
			}
			p.Cursor = page.NextCursor
		}
		if p.Actor == "" && p.Action == "" && n != 30 {
			t.Errorf("tenant A has %d events, want 30", n)
		}
	}

	// A cursor taken from B's list does not open A's list to B's rows.
	pb := mustList(t, r, ListParams{TenantID: "B", Limit: 2})
	pa := mustList(t, r, ListParams{TenantID: "A", Cursor: pb.NextCursor, Limit: 100})
	for _, e := range pa.Items {
		if e.TenantID != "A" {
			t.Fatalf("A's list with B's cursor returned %+v", e)
		}
	}

	// B sees its own 10.
	if page := mustList(t, r, ListParams{TenantID: "B", Limit: 100}); len(page.Items) != 10 {
		t.Errorf("tenant B has %d events, want 10", len(page.Items))
	}
	// Every tenant: 30 + 10 + 1.
	if page := mustList(t, r, ListParams{Limit: 100}); len(page.Items) != 41 {
		t.Errorf("all tenants: %d events, want 41", len(page.Items))
	}
}

func TestCursorPagination(t *testing.T) {
	t.Parallel()
	r, _ := newRecorder(t, nil)
	for i := range 45 {
		mustRecord(t, r, Event{TenantID: "t1", Action: "source.deleted", Result: ResultSuccess, TargetID: fmt.Sprint(i)})
	}
	var sizes []int
	seen := map[string]bool{}
	var order []string
	p := ListParams{TenantID: "t1"}
	for {
		page := mustList(t, r, p)
		sizes = append(sizes, len(page.Items))
		for _, e := range page.Items {
			if seen[e.ID] {
				t.Fatalf("duplicate %s", e.ID)
			}
			seen[e.ID] = true
			order = append(order, e.TargetID)
		}
		if page.NextCursor == "" {
			break
		}
		p.Cursor = page.NextCursor
	}
	if !slices.Equal(sizes, []int{20, 20, 5}) {
		t.Errorf("page sizes = %v, want [20 20 5]", sizes)
	}
	for i, id := range order {
		if id != fmt.Sprint(44-i) {
			t.Fatalf("item %d has target %s, want %d (newest first)", i, id, 44-i)
		}
	}
}

func TestInvalidCursor(t *testing.T) {
	t.Parallel()
	r, _ := newRecorder(t, nil)
	mustRecord(t, r, ev("t1", "u", "auth.login"))
	enc := base64.RawURLEncoding.EncodeToString
	for _, c := range []string{
		"not base64!",
		enc([]byte("src_01hzzzzzzzzzzzzzzzzzzzzzzz")), // another package's id
		enc([]byte("aud_x")),
		enc([]byte("aud_01HZZZZZZZZZZZZZZZZZZZZZZZ")), // upper case
		enc([]byte("aud_01hzzzzzzzzzzzzzzzzzzzzzzz' OR 1=1 --")),
		base64.URLEncoding.EncodeToString([]byte("aud_01hzzzzzzzzzzzzzzzzzzzzz")), // padded
		strings.Repeat("A", 100),
	} {
		if _, err := r.List(t.Context(), ListParams{TenantID: "t1", Cursor: c}); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("List(cursor %q) = %v, want ErrInvalidCursor", c, err)
		}
	}
}

func TestLimitClamp(t *testing.T) {
	t.Parallel()
	r, db := newRecorder(t, nil)
	// 120 events in one transaction, the way Record writes them.
	ids := newIDGen()
	tx, err := db.Write.BeginTxx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 120 {
		id, err := ids.Next(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(tx.Rebind(insertEvent), id, "t1", "", ActorAnonymous, "auth.login", "", "", ResultSuccess, "", "", "{}", storage.Timestamp(time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ limit, want int }{
		{0, DefaultListLimit}, {-5, DefaultListLimit}, {1, 1}, {100, 100}, {101, MaxListLimit}, {1 << 30, MaxListLimit},
	} {
		page := mustList(t, r, ListParams{TenantID: "t1", Limit: tt.limit})
		if len(page.Items) != tt.want || page.NextCursor == "" {
			t.Errorf("Limit %d: %d items (next %q), want %d and a cursor", tt.limit, len(page.Items), page.NextCursor, tt.want)
		}
	}
}

func TestRecordValidation(t *testing.T) {
	t.Parallel()
	r, _ := newRecorder(t, nil)
	bad := []Event{
		{Result: ResultSuccess},
		{Action: "Auth.Login", Result: ResultSuccess},
		{Action: "auth login", Result: ResultSuccess},
		{Action: "auth-login", Result: ResultSuccess},
		{Action: "auth.login\n", Result: ResultSuccess},
		{Action: "é", Result: ResultSuccess},
		{Action: strings.Repeat("a", MaxActionLen+1), Result: ResultSuccess},
		{Action: "auth.login"},
		{Action: "auth.login", Result: "ok"},
		{Action: "auth.login", Result: ResultSuccess, ActorType: "admin"},
		{Action: "auth.login", Result: ResultSuccess, Details: map[string]any{"f": func() {}}},
		{Action: "auth.login", Result: ResultSuccess, Details: map[string]any{"c": make(chan int)}},
	}
	for _, e := range bad {
		if err := r.Record(t.Context(), e); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("Record(%+v) = %v, want ErrInvalidEvent", e, err)
		}
	}
	// The longest action and every allowed character are fine.
	for _, a := range []string{strings.Repeat("a", MaxActionLen), "a", "auth.login_failed", "v2.x_9"} {
		mustRecord(t, r, Event{Action: a, Result: ResultDenied})
	}
	if page := mustList(t, r, ListParams{Limit: 100}); len(page.Items) != 4 {
		t.Errorf("%d events stored, want only the 4 valid ones", len(page.Items))
	}
}

func TestRecordCutsLongFields(t *testing.T) {
	t.Parallel()
	r, _ := newRecorder(t, nil)
	long := strings.Repeat("é", MaxFieldLen) // 2 bytes each
	mustRecord(t, r, Event{TenantID: "t1", ActorID: long, TargetID: "x\xffy", RequestID: long, RemoteAddr: long, TargetType: long, Action: "a.b", Result: ResultSuccess})
	e := mustList(t, r, ListParams{TenantID: "t1"}).Items[0]
	for name, v := range map[string]string{"ActorID": e.ActorID, "RequestID": e.RequestID, "RemoteAddr": e.RemoteAddr, "TargetType": e.TargetType} {
		if len(v) > MaxFieldLen || !utf8.ValidString(v) || v != strings.Repeat("é", MaxFieldLen/2) {
			t.Errorf("%s = %d bytes (valid %v), want cut to %d bytes on a rune boundary", name, len(v), utf8.ValidString(v), MaxFieldLen)
		}
	}
	if e.TargetID != "x\uFFFDy" {
		t.Errorf("TargetID = %q, want invalid UTF-8 replaced", e.TargetID)
	}
}

func TestDetailsSanitized(t *testing.T) {
	t.Parallel()
	r, db := newRecorder(t, nil)
	type creds struct {
		User  string `json:"user"`
		Token string `json:"token"`
	}
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3JfMSJ9.c2lnbmF0dXJl"
	long := strings.Repeat("x", 1000)
	mustRecord(t, r, Event{TenantID: "t1", Action: "auth.login", Result: ResultSuccess, Details: map[string]any{
		"email":                                "a@example.com",
		"password":                             "hunter2",
		"refresh_token":                        "rt-secret-1",
		"Access-Token":                         "at-secret-2",
		"apiKey":                               "ak-secret-3",
		"client_secret":                        "cs-secret-4",
		"Authorization":                        "Basic dXNlcjpwYXNz",
		"Cookie":                               "session=cs-secret-5",
		"text":                                 "the whole document",
		"content":                              "the whole document",
		"page_text":                            "the whole document",
		"header":                               "Bearer opaque-secret-6",
		"opaque":                               jwt,
		"reason":                               long,
		"count":                                3,
		"ok":                                   true,
		"none":                                 nil,
		"nested":                               map[string]any{"user": "u1", "token": "nested-secret-7", "deeper": []any{map[string]any{"password": "p8", "n": 1}, long}},
		"creds":                                creds{User: "u2", Token: "struct-secret-9"},
		strings.Repeat("k", MaxDetailKeyLen+1): "long key",
	}})
	// What is stored, exactly: nothing secret in the row.
	var raw string
	if err := db.Read.Get(&raw, `SELECT details FROM audit_events`); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hunter2", "rt-secret-1", "at-secret-2", "ak-secret-3", "cs-secret-4", "dXNlcjpwYXNz", "cs-secret-5", "whole document", "opaque-secret-6", jwt, "nested-secret-7", "p8", "struct-secret-9", "long key"} {
		if strings.Contains(raw, secret) {
			t.Errorf("stored details %s contain %q", raw, secret)
		}
	}
	d := mustList(t, r, ListParams{TenantID: "t1"}).Items[0].Details
	cut := strings.Repeat("x", MaxDetailValueLen-1) + "…"
	want := map[string]any{
		"email":  "a@example.com",
		"header": "[redacted]",
		"opaque": "[redacted]",
		"reason": cut,
		"count":  float64(3),
		"ok":     true,
		"none":   nil,
		"nested": map[string]any{"user": "u1", "deeper": []any{map[string]any{"n": float64(1)}, cut}},
		"creds":  map[string]any{"user": "u2"},
	}
	gotJSON, _ := json.Marshal(d)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("details\n got %s\nwant %s", gotJSON, wantJSON)
	}
	if n := utf8.RuneCountInString(d["reason"].(string)); n != MaxDetailValueLen {
		t.Errorf("long value has %d runes, want %d", n, MaxDetailValueLen)
	}
}

func TestSecretKey(t *testing.T) {
	t.Parallel()
	for k, want := range map[string]bool{
		"token": true, "id_token": true, "X-Auth-Token": true, "PASSWORD": true, "new_password": true,
		"secret": true, "authorization": true, "set-cookie": true, "text": true, "content": true,
		"content_type": true, "api_key": true, "private-key": true, "body": true, "context": true,
		"key": false, "email": false, "user_id": false, "scope": false, "enabled": false, "reason": false,
		"target": false, "size_bytes": false, "mode": false,
	} {
		if got := secretKey(k); got != want {
			t.Errorf("secretKey(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestDetailsOverLimitTrimmed(t *testing.T) {
	t.Parallel()
	r, db := newRecorder(t, nil)
	// 40 values of ~200 bytes: about 8 KiB, over the 4 KiB limit after the
	// per-value cut (which does not apply: each is under 256 runes).
	details := map[string]any{"small": 1, "user_id": "usr_1"}
	for i := range 40 {
		details[fmt.Sprintf("v%02d", i)] = strings.Repeat(string(rune('a'+i%26)), 150+i)
	}
	mustRecord(t, r, Event{TenantID: "t1", Action: "a.b", Result: ResultFailure, Details: details})
	var raw string
	if err := db.Read.Get(&raw, `SELECT details FROM audit_events`); err != nil {
		t.Fatal(err)
	}
	if len(raw) > MaxDetailsBytes {
		t.Fatalf("stored details are %d bytes, want <= %d", len(raw), MaxDetailsBytes)
	}
	d := mustList(t, r, ListParams{TenantID: "t1"}).Items[0].Details
	if d[TruncatedKey] != true {
		t.Errorf("details lack %s: %v", TruncatedKey, d)
	}
	// The small keys survive; the largest went first.
	if d["small"] != float64(1) || d["user_id"] != "usr_1" {
		t.Errorf("small keys dropped: %v", d)
	}
	if _, ok := d["v39"]; ok {
		t.Errorf("the largest value v39 kept while smaller ones went: %v", d)
	}
	if _, ok := d["v00"]; !ok {
		t.Errorf("the smallest value v00 dropped: %v", d)
	}
	// It fills the budget reasonably: no more than one extra value dropped.
	if len(raw) < MaxDetailsBytes-250 {
		t.Errorf("stored details are %d bytes, trimmed more than needed", len(raw))
	}

	// One huge nested value alone: dropped, the event still stored.
	big := map[string]any{"list": make([]int, 3000), "kind": "x"}
	mustRecord(t, r, Event{TenantID: "t2", Action: "a.b", Result: ResultFailure, Details: big})
	d = mustList(t, r, ListParams{TenantID: "t2"}).Items[0].Details
	if want := (map[string]any{"kind": "x", TruncatedKey: true}); fmt.Sprint(d) != fmt.Sprint(want) {
		t.Errorf("details = %v, want %v", d, want)
	}
}

func TestConcurrentRecord(t *testing.T) {
	t.Parallel()
	r, _ := newRecorder(t, nil)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- r.Record(context.Background(), Event{TenantID: "t1", ActorID: fmt.Sprint("usr_", i), Action: "auth.login", Result: ResultSuccess})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	page := mustList(t, r, ListParams{TenantID: "t1", Limit: 100})
	actors := map[string]bool{}
	for _, e := range page.Items {
		actors[e.ActorID] = true
	}
	if len(page.Items) != n || len(actors) != n {
		t.Errorf("%d events from %d actors stored, want %d", len(page.Items), len(actors), n)
	}
}

func TestIDsMonotonicWhenClockStepsBack(t *testing.T) {
	t.Parallel()
	g := newIDGen()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, _ := g.Next(t0)
	b, _ := g.Next(t0.Add(-time.Minute))
	c, _ := g.Next(t0)
	if !(a < b && b < c) {
		t.Errorf("ids %s %s %s not increasing", a, b, c)
	}
}

func TestCutRunes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		max  int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"ééééé", 4, "ééé…"},
		{"", 3, ""},
	} {
		if got := cutRunes(tt.in, tt.max); got != tt.want {
			t.Errorf("cutRunes(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
