package sources

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestSanitizeFilename covers RELIABILITY T23.
func TestSanitizeFilename(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 10000) + ".pdf"
	for _, tc := range []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"../../a.pdf", "a.pdf"},
		{`..\..\windows\system32\a.pdf`, "a.pdf"},
		{"/etc/passwd", "passwd"},
		{"a\r\nX-Injected: 1.pdf", "aX-Injected_ 1.pdf"},
		{"evil\x00.pdf.exe", "evil.pdf.exe"},
		{"invoice\u202Efdp.exe", "invoicefdp.exe"},
		{"\u2067abc\u2069.txt", "abc.txt"},
		{"CON.pdf", "_CON.pdf"},
		{"con", "_con"},
		{"lpt1.txt", "_lpt1.txt"},
		{"CONSOLE.pdf", "CONSOLE.pdf"},
		{"  spaced  name.txt  ", "spaced  name.txt"},
		{"tab\there.txt", "tabhere.txt"},
		{"nb\u00a0sp.txt", "nb sp.txt"},
		{`what?.txt`, "what_.txt"},
		{"\xff\xfebad.txt", "bad.txt"},
		{"Résumé – été.pdf", "Résumé – été.pdf"},
		{"", "fallback"},
		{"   ", "fallback"},
		{".", "fallback"},
		{"..", "fallback"},
		{"dir/", "fallback"},
		{"\x00\x01\x02", "fallback"},
		{".bashrc", ".bashrc"},
	} {
		if got := SanitizeFilename(tc.in, "fallback"); got != tc.want {
			t.Errorf("SanitizeFilename(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}

	got := SanitizeFilename(long, "x")
	if len(got) != MaxFilenameBytes || !strings.HasSuffix(got, ".pdf") {
		t.Errorf("10 000-char name: len %d, %q...", len(got), got[len(got)-10:])
	}
	multi := strings.Repeat("é", 200) // 400 bytes
	got = SanitizeFilename(multi, "x")
	if len(got) > MaxFilenameBytes || !utf8.ValidString(got) {
		t.Errorf("multi-byte name cut badly: len %d valid %v", len(got), utf8.ValidString(got))
	}
}

func checkSanitized(t *testing.T, in, got string) {
	t.Helper()
	if got == "" {
		t.Fatalf("SanitizeFilename(%q) is empty", in)
	}
	if len(got) > MaxFilenameBytes {
		t.Fatalf("SanitizeFilename(%q) is %d bytes", in, len(got))
	}
	if !utf8.ValidString(got) {
		t.Fatalf("SanitizeFilename(%q) = %q is not valid UTF-8", in, got)
	}
	if strings.ContainsAny(got, `/\`) || got == "." || got == ".." {
		t.Fatalf("SanitizeFilename(%q) = %q names a path", in, got)
	}
	for _, r := range got {
		if unicode.IsControl(r) || isBidiControl(r) {
			t.Fatalf("SanitizeFilename(%q) = %q contains %U", in, got, r)
		}
	}
	if got != strings.TrimSpace(got) {
		t.Fatalf("SanitizeFilename(%q) = %q is not trimmed", in, got)
	}
	if again := SanitizeFilename(got, "fallback"); again != got {
		t.Fatalf("not idempotent: %q -> %q -> %q", in, got, again)
	}
}

func FuzzSanitizeFilename(f *testing.F) {
	for _, s := range []string{"../../a.pdf", "a\r\nX: 1.pdf", "x\x00y", "\u202Eabc", "CON.pdf", strings.Repeat("é", 300), " . ", "a/b\\c", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkSanitized(t, in, SanitizeFilename(in, "fallback"))
	})
}
