package urlfetch

import (
	"mime"
	"net/url"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxFilenameBytes is the longest Response.Filename (common file-system
// limit).
const maxFilenameBytes = 255

// responseFilename picks the file name from a Content-Disposition header
// (filename or RFC 5987 filename*), else from the last segment of the
// final URL's path.
func responseFilename(contentDisposition string, final *url.URL) string {
	if contentDisposition != "" {
		if _, params, err := mime.ParseMediaType(contentDisposition); err == nil {
			if name := sanitizeFilename(params["filename"]); name != "" {
				return name
			}
		}
	}
	if final == nil {
		return ""
	}
	p := final.Path
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	return sanitizeFilename(p)
}

// sanitizeFilename keeps only the last path component (both '/' and '\'
// separate), drops control and invisible format characters (such as
// U+202E RIGHT-TO-LEFT OVERRIDE) and invalid UTF-8, trims blanks, refuses
// "." and "..", and truncates to 255 bytes on a rune boundary while
// keeping a short extension.
func sanitizeFilename(s string) string {
	s = strings.ToValidUTF8(s, "")
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if s == "." || s == ".." {
		return ""
	}
	if len(s) <= maxFilenameBytes {
		return s
	}
	ext := path.Ext(s)
	if len(ext) > 16 {
		ext = ""
	}
	return truncateUTF8(s[:len(s)-len(ext)], maxFilenameBytes-len(ext)) + ext
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
