package proc

import (
	"errors"
	"strings"
	"testing"
)

func TestBuffer(t *testing.T) {
	b := &Buffer{Max: 5}
	if n, err := b.Write([]byte("abcdefg")); n != 7 || err != nil || b.String() != "abcde" || !b.Over {
		t.Fatalf("lenient: n=%d err=%v kept %q over=%v", n, err, b.String(), b.Over)
	}
	s := &Buffer{Max: 3, Strict: true}
	if n, err := s.Write([]byte("ab")); n != 2 || err != nil {
		t.Fatalf("strict under the limit: %d %v", n, err)
	}
	if _, err := s.Write([]byte("cd")); !errors.Is(err, ErrFull) || s.String() != "abc" || !s.Over {
		t.Fatalf("strict past the limit: err=%v kept %q", err, s.String())
	}
}

func TestLastLine(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"one":                    "one",
		"first\nsecond\n\n  \n":  "second",
		strings.Repeat("é", 150): strings.Repeat("é", 100),
	} {
		if got := LastLine(in); got != want {
			t.Errorf("LastLine(%.20q) = %.20q, want %.20q", in, got, want)
		}
	}
}
