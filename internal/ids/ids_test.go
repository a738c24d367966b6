package ids

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
)

func TestRandomIDsShareOnlyTheTime(t *testing.T) {
	g := New("src_")
	now := time.Now()
	seen := map[string]bool{}
	prev := ""
	increasing := 0
	for range 200 {
		id, err := g.Next(now)
		if err != nil {
			t.Fatal(err)
		}
		if !Valid("src_", id) || seen[id] {
			t.Fatalf("bad or duplicate id %q", id)
		}
		seen[id] = true
		if id > prev {
			increasing++
		}
		prev = id
	}
	if increasing > 150 { // monotonic ids would all increase
		t.Fatalf("%d of 200 same-millisecond ids increase: entropy is not fresh", increasing)
	}
}

func TestMonotonicIDsSortInOrder(t *testing.T) {
	g := NewMonotonic("aud_")
	t0 := time.Now()
	a, _ := g.Next(t0)
	b, _ := g.Next(t0.Add(-time.Minute)) // the clock stepped back
	c, _ := g.Next(t0)
	if !(a < b && b < c) {
		t.Fatalf("not in order: %s %s %s", a, b, c)
	}
}

// TestMonotonicIDsAreRandom: ordered ids made in one millisecond share no
// counter: each has fresh random bits (RELIABILITY.md T49), and a burst
// only moves the time part forward.
func TestMonotonicIDsAreRandom(t *testing.T) {
	g := NewMonotonic("src_")
	t0 := time.Now()
	seen := map[string]bool{}
	prev := ""
	for i := range 1000 {
		id, err := g.Next(t0)
		if err != nil {
			t.Fatal(err)
		}
		if id <= prev {
			t.Fatalf("id %d %s does not sort after %s", i, id, prev)
		}
		prev = id
		u, err := ulid.ParseStrict(strings.ToUpper(id[4:]))
		if err != nil {
			t.Fatal(err)
		}
		e := u.Entropy()
		top := string(e[:5]) // 40 bits: a counter would repeat them
		if seen[top] {
			t.Fatalf("id %d repeats the top 40 random bits of an earlier one", i)
		}
		seen[top] = true
		if ahead := time.Duration(u.Time()-ulid.Timestamp(t0)) * time.Millisecond; ahead >= time.Second+time.Millisecond {
			t.Fatalf("id %d runs %s ahead of its time", i, ahead)
		}
	}
}

func TestCursor(t *testing.T) {
	id, _ := New("src_").Next(time.Now())
	got, err := DecodeCursor("src_", EncodeCursor(id))
	if err != nil || got != id {
		t.Fatalf("round trip: %q %v", got, err)
	}
	for _, bad := range []string{"", "x", EncodeCursor("usr_" + id[4:]), EncodeCursor(id) + "=", EncodeCursor(id)[:10], string(make([]byte, 100))} {
		if _, err := DecodeCursor("src_", bad); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("DecodeCursor(%q) = %v", bad, err)
		}
	}
}

func FuzzDecodeCursor(f *testing.F) {
	id, _ := New("src_").Next(time.Now())
	f.Add(EncodeCursor(id))
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, c string) {
		id, err := DecodeCursor("src_", c)
		if err == nil && !Valid("src_", id) {
			t.Fatalf("accepted %q -> %q", c, id)
		}
	})
}

func TestPage(t *testing.T) {
	rows := []string{"src_c", "src_b", "src_a"}
	item := func(r *string) (string, error) { return strings.ToUpper(*r), nil }
	id := func(r *string) string { return *r }
	items, next, err := Page(rows, 2, item, id)
	if err != nil || len(items) != 2 || items[1] != "SRC_B" || next != EncodeCursor("src_b") {
		t.Fatalf("Page(3 rows, limit 2) = %v, %q, %v", items, next, err)
	}
	items, next, err = Page(rows[:2], 2, item, id)
	if err != nil || len(items) != 2 || next != "" {
		t.Fatalf("Page(2 rows, limit 2) = %v, %q, %v", items, next, err)
	}
	boom := errors.New("boom")
	if _, _, err := Page(rows, 2, func(*string) (string, error) { return "", boom }, id); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}
