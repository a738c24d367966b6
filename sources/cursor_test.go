package sources

import (
	"errors"
	"testing"
	"time"
)

func TestIDs(t *testing.T) {
	t.Parallel()
	g := newIDGen()
	now := time.Now()
	prev := ""
	seen := map[string]bool{}
	for range 1000 {
		id, err := g.Next(now)
		if err != nil {
			t.Fatal(err)
		}
		if !validID(id) {
			t.Fatalf("%q is not a valid id", id)
		}
		if seen[id] || id <= prev {
			t.Fatalf("id %q after %q: not unique and increasing", id, prev)
		}
		seen[id] = true
		prev = id
	}
	id, err := decodeCursor(encodeCursor(prev))
	if err != nil || id != prev {
		t.Errorf("cursor round trip = %q, %v", id, err)
	}
}

func FuzzDecodeCursor(f *testing.F) {
	g := newIDGen()
	id, _ := g.Next(time.Now())
	for _, s := range []string{"", "abc", encodeCursor(id), encodeCursor("src_"), encodeCursor(id) + "=", "c3JjXw"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, c string) {
		id, err := decodeCursor(c)
		if err != nil {
			if !errors.Is(err, ErrInvalidCursor) {
				t.Fatalf("decodeCursor(%q) error %v is not ErrInvalidCursor", c, err)
			}
			return
		}
		if !validID(id) {
			t.Fatalf("decodeCursor(%q) = %q, not a source id", c, id)
		}
		if encodeCursor(id) != c {
			t.Fatalf("cursor %q is not canonical (re-encodes to %q)", c, encodeCursor(id))
		}
	})
}
