package sources

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxFilenameBytes is the longest filename kept, in bytes of UTF-8.
const MaxFilenameBytes = 255

// SanitizeFilename makes a caller-given file name safe to store and show
// (RELIABILITY T23): the base name only (after the last '/' or '\'),
// without control characters (NUL, CR, LF and the rest of Unicode's Cc),
// bidirectional overrides and isolates, invalid UTF-8 or the characters
// Windows refuses (<>:"|?* become '_'); trimmed of spaces; a Windows
// device name (CON, NUL, COM1...) gets a leading '_'; at most
// MaxFilenameBytes bytes, cut on a rune boundary and keeping a short
// extension. An empty result, "." or ".." gives fallback.
//
// The name is only ever metadata: sources are stored under generated ids.
func SanitizeFilename(name, fallback string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		switch {
		case unicode.IsControl(r), isBidiControl(r), r == '\uFEFF':
			continue
		case strings.ContainsRune(`<>:"|?*`, r):
			b.WriteByte('_')
		case unicode.IsSpace(r):
			b.WriteByte(' ') // exotic spaces become a plain one
		default:
			b.WriteRune(r)
		}
	}
	name = strings.TrimSpace(b.String())
	if isWindowsDevice(name) {
		name = "_" + name
	}
	name = truncateName(name, MaxFilenameBytes)
	name = strings.TrimSpace(name)
	if name == "" || name == "." || name == ".." {
		return fallback
	}
	return name
}

func isBidiControl(r rune) bool {
	switch {
	case r >= '\u202A' && r <= '\u202E', // LRE, RLE, PDF, LRO, RLO
		r >= '\u2066' && r <= '\u2069',              // LRI, RLI, FSI, PDI
		r == '\u200E', r == '\u200F', r == '\u061C': // LRM, RLM, ALM
		return true
	}
	return false
}

// isWindowsDevice reports names such as "CON", "con.pdf" or "COM1.txt".
func isWindowsDevice(name string) bool {
	stem, _, _ := strings.Cut(name, ".")
	stem = strings.ToUpper(strings.TrimSpace(stem))
	switch stem {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(stem) == 4 && (strings.HasPrefix(stem, "COM") || strings.HasPrefix(stem, "LPT")) && stem[3] >= '0' && stem[3] <= '9' {
		return true
	}
	return false
}

// truncateName cuts name to at most n bytes on a rune boundary, keeping
// its extension when that is short.
func truncateName(name string, n int) string {
	if len(name) <= n {
		return name
	}
	ext := path.Ext(name)
	if len(ext) > 16 || len(ext) >= n {
		ext = ""
	}
	stem := name[:len(name)-len(ext)]
	return cutBytes(stem, n-len(ext)) + ext
}

// cutBytes returns the longest prefix of s of at most n bytes that ends on
// a rune boundary.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
