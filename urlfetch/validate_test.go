package urlfetch

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestValidateURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want error  // nil: accepted
		norm string // normalised form when accepted ("" = don't check)
	}{
		// Accepted.
		{"http://example.com/", nil, "http://example.com/"},
		{"https://example.com/a/b.pdf?x=1", nil, "https://example.com/a/b.pdf?x=1"},
		{"HTTP://Example.COM/Path", nil, "http://example.com/Path"},
		{"hTtPs://example.com:443/", nil, "https://example.com:443/"},
		{"http://example.com:080/", nil, "http://example.com:80/"},
		{"http://example.com/#frag", nil, "http://example.com/"},
		{"http://example.com.", nil, "http://example.com."},
		{"http://8.8.8.8/", nil, "http://8.8.8.8/"},
		{"http://[2606:4700:4700::1111]/", nil, "http://[2606:4700:4700::1111]/"},
		{"http://[2606:4700:4700::1111]:443/", nil, "http://[2606:4700:4700::1111]:443/"},
		{"http://xn--xample-2of.com/", nil, ""},
		{"http://under_score.example.com/", nil, ""},
		{"http://123.example.com/", nil, ""},
		{"http://example.com:/", nil, "http://example.com/"},
		{"http://%65xample.com/", ErrInvalidURL, ""}, // net/url refuses escapes in hosts

		// T29 scheme tricks.
		{"file:///etc/passwd", ErrForbidden, ""},
		{"gopher://example.com/", ErrForbidden, ""},
		{"ftp://example.com/", ErrForbidden, ""},
		{"data:text/plain,x", ErrForbidden, ""},
		{"jar:http://example.com/a.jar!/", ErrForbidden, ""},
		{"javascript:alert(1)", ErrForbidden, ""},
		{"ws://example.com/", ErrForbidden, ""},
		{"httpx://example.com/", ErrForbidden, ""},
		{"localhost:8080", ErrForbidden, ""},
		{"//example.com/", ErrInvalidURL, ""},
		{"/relative", ErrInvalidURL, ""},
		{"example.com", ErrInvalidURL, ""},
		{"http:example.com", ErrInvalidURL, ""},
		{"http:/example.com", ErrInvalidURL, ""},
		{"http://", ErrInvalidURL, ""},
		{"http:///path", ErrInvalidURL, ""},
		{"", ErrInvalidURL, ""},

		// T29 credentials and parser confusion.
		{"http://evil@example.com/", ErrForbidden, ""},
		{"http://user:pass@example.com/", ErrForbidden, ""},
		{"http://@example.com/", ErrForbidden, ""},
		{"http://:@example.com/", ErrForbidden, ""},
		{"http://127.0.0.1#@example.com/", ErrForbidden, ""},
		{"http://example.com#@127.0.0.1/", nil, "http://example.com"},
		{`http://example.com\@127.0.0.1/`, ErrInvalidURL, ""},
		{`http://example.com\.127.0.0.1/`, ErrInvalidURL, ""},
		{`http:\\example.com\`, ErrInvalidURL, ""},
		{" http://example.com/", ErrInvalidURL, ""},
		{"\thttp://example.com/", ErrInvalidURL, ""},
		{"http://example.com/ ", ErrInvalidURL, ""},
		{"http://exa mple.com/", ErrInvalidURL, ""},
		{"http://example.com/\x00", ErrInvalidURL, ""},
		{"http://example.com/\x7f", ErrInvalidURL, ""},
		{"http://example.com\r\nHost: evil/", ErrInvalidURL, ""},
		{"http://еxample.com/", ErrInvalidURL, ""},          // Cyrillic е: IDN homograph
		{"http://ex%E2%80%AEample.com/", ErrInvalidURL, ""}, // encoded non-ASCII host
		{"http://exa%00mple.com/", ErrInvalidURL, ""},
		{"http://example..com/", ErrInvalidURL, ""},
		{"http://.example.com/", ErrInvalidURL, ""},
		{"http://ex!ample.com/", ErrInvalidURL, ""},
		{"http://" + strings.Repeat("a", 64) + ".com/", ErrInvalidURL, ""},
		{"http://example.com/" + strings.Repeat("a", 100<<10), ErrInvalidURL, ""},
		{"http://example.com/" + strings.Repeat("a", MaxURLBytes), ErrInvalidURL, ""},

		// T27 numeric spellings of loopback.
		{"http://127.0.0.1/", ErrForbidden, ""},
		{"http://127.0.0.1./", ErrForbidden, ""},
		{"http://127.1/", ErrInvalidURL, ""},
		{"http://127.0.1/", ErrInvalidURL, ""},
		{"http://2130706433/", ErrInvalidURL, ""},
		{"http://0x7f000001/", ErrInvalidURL, ""},
		{"http://0x7F.0.0.1/", ErrInvalidURL, ""},
		{"http://0177.0.0.1/", ErrInvalidURL, ""},
		{"http://127.000.000.001/", ErrInvalidURL, ""},
		{"http://foo.123/", ErrInvalidURL, ""},
		{"http://foo.0x10/", ErrInvalidURL, ""},
		{"http://0.0.0.0/", ErrForbidden, ""},
		{"http://[::1]/", ErrForbidden, ""},
		{"http://[::ffff:127.0.0.1]/", ErrForbidden, ""},
		{"http://[::ffff:7f00:1]/", ErrForbidden, ""},
		{"http://[0:0:0:0:0:ffff:127.0.0.1]/", ErrForbidden, ""},
		{"http://[127.0.0.1]/", ErrInvalidURL, ""},
		{"http://[fe80::1%25eth0]/", ErrForbidden, ""},
		{"http://[::1/", ErrInvalidURL, ""},
		{"http://[zz::1]/", ErrInvalidURL, ""},

		// T28 literals.
		{"http://169.254.169.254/latest/meta-data/", ErrForbidden, ""},
		{"http://10.0.0.1/", ErrForbidden, ""},
		{"http://[fd00::1]/", ErrForbidden, ""},
		{"http://[64:ff9b::a9fe:a9fe]/", ErrForbidden, ""},
		{"http://[2002:a9fe:a9fe::]/", ErrForbidden, ""},

		// T32 ports (default allow-list 80, 443).
		{"http://example.com:22/", ErrForbidden, ""},
		{"http://example.com:25/", ErrForbidden, ""},
		{"http://example.com:6379/", ErrForbidden, ""},
		{"http://example.com:8080/", ErrForbidden, ""},
		{"https://example.com:80/", nil, ""},
		{"http://example.com:0/", ErrInvalidURL, ""},
		{"http://example.com:65536/", ErrInvalidURL, ""},
		{"http://example.com:99999999999999999999/", ErrInvalidURL, ""},
		{"http://example.com:-1/", ErrInvalidURL, ""},
		{"http://example.com:8o/", ErrInvalidURL, ""},
		{"http://example.com: 80/", ErrInvalidURL, ""},
	}
	for _, tt := range tests {
		name := tt.in[:min(len(tt.in), 60)]
		u, err := ValidateURL(tt.in)
		if tt.want == nil {
			if err != nil {
				t.Errorf("ValidateURL(%q) = %v; want accepted", name, err)
				continue
			}
			if tt.norm != "" && strings.TrimSuffix(u.String(), "/") != strings.TrimSuffix(tt.norm, "/") {
				t.Errorf("ValidateURL(%q) = %s; want %s", name, u, tt.norm)
			}
			continue
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("ValidateURL(%q) = %v, %v; want %v", name, u, err, tt.want)
		}
		var e *Error
		if !errors.As(err, &e) || e.Kind != tt.want {
			t.Errorf("ValidateURL(%q): error %T %v is not an *Error of kind %v", name, err, err, tt.want)
		}
	}
}

func TestValidateURLDoesNotLeakURL(t *testing.T) {
	t.Parallel()
	// Parse errors must not echo the URL (it may hold a token, or be huge).
	_, err := ValidateURL("http://example.com/%zz?token=SECRET")
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("got %v", err)
	}
}

func TestFetcherValidateURLUsesConfig(t *testing.T) {
	t.Parallel()
	f := guardForTest(t)
	for _, tt := range []struct {
		in   string
		want error
	}{
		{"http://127.0.0.2:8080/", nil},
		{"http://127.0.0.1:8080/", ErrForbidden},
		{"http://127.0.0.2:8081/", ErrForbidden},
		{"http://example.com:8080/", nil},
	} {
		_, err := f.ValidateURL(tt.in)
		if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
			t.Errorf("%s: %v; want %v", tt.in, err, tt.want)
		}
	}
}

func TestSanitizeFilename(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 200) + ".pdf"
	for _, tt := range []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"../../etc/passwd", "passwd"},
		{`C:\Windows\system.ini`, "system.ini"},
		{"a\x00b\x1fc\x7fd", "abcd"},
		{"line\r\nbreak.txt", "linebreak.txt"},
		{"evil\u202Efdp.exe", "evilfdp.exe"},
		{"zero\u200bwidth", "zerowidth"},
		{"bad\xffutf8", "badutf8"},
		{"  spaced.txt  ", "spaced.txt"},
		{"..", ""},
		{".", ""},
		{"dir/", ""},
		{"", ""},
		{".hidden", ".hidden"},
	} {
		if got := sanitizeFilename(tt.in); got != tt.want {
			t.Errorf("sanitizeFilename(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
	got := sanitizeFilename(long)
	if len(got) > 255 || !strings.HasSuffix(got, ".pdf") || !strings.HasPrefix(got, "éé") || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("long name: %d bytes %q", len(got), got)
	}
	if got := responseFilename("", &url.URL{Path: "/a/b/file%20name.txt"}); got != "file%20name.txt" {
		t.Errorf("responseFilename from path = %q", got)
	}
}
