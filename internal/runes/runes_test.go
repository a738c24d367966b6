package runes

import "testing"

func TestCut(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 3, "hel"},
		{"hello", 5, "hello"},
		{"hello", 9, "hello"},
		{"hello", 0, ""},
		{"hello", -1, ""},
		{"日本語テキスト", 2, "日本"},
		{"a\u0301b", 1, "a"}, // code points, not graphemes
		{"", 3, ""},
	} {
		if got := Cut(c.s, c.n); got != c.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}
