package urlfetch

import (
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// MaxURLBytes is the longest URL accepted (8 KiB).
const MaxURLBytes = 8 << 10

// defaultPorts is the port allow-list used by [ValidateURL] and by a
// Fetcher whose Config.AllowPorts is empty.
var defaultPorts = []int{80, 443}

// ValidateURL checks rawURL without touching the network, using the
// default port allow-list (80 and 443). Use [Fetcher.ValidateURL] to apply
// a Fetcher's own AllowPorts and AllowCIDRs.
//
// It requires an absolute http or https URL (scheme case-insensitive,
// returned lowercase), no userinfo, a well-formed host (a DNS name of
// ASCII letters, digits, '-', '_' and dots, or a canonical IP literal;
// ambiguous numeric spellings such as 127.1, 2130706433, 0x7f000001,
// 0177.0.0.1 or 127.000.000.001 are refused), at most [MaxURLBytes], no
// whitespace, control characters or backslashes, and an allowed port. A
// host that is an IP literal is also range-checked here (the dial-time
// guard checks it again, along with every address a name resolves to).
//
// The returned URL is normalised: lowercase scheme and host, no fragment.
func ValidateURL(rawURL string) (*url.URL, error) {
	return defaultGuard.validate(rawURL)
}

// defaultGuard is a Fetcher carrying only the default policy, used by
// ValidateURL. Only its ports, allow list (empty) and logger are read.
var defaultGuard = &Fetcher{ports: defaultPorts, logger: discardLogger}

// ValidateURL is like the package-level [ValidateURL] but applies f's
// AllowPorts and AllowCIDRs. Fetch calls it first.
func (f *Fetcher) ValidateURL(rawURL string) (*url.URL, error) {
	return f.validate(rawURL)
}

func (f *Fetcher) validate(rawURL string) (*url.URL, error) {
	if rawURL == "" {
		return nil, newError(ErrInvalidURL, "empty URL", nil)
	}
	if len(rawURL) > MaxURLBytes {
		return nil, newError(ErrInvalidURL, "URL longer than "+strconv.Itoa(MaxURLBytes)+" bytes", nil)
	}
	for i := 0; i < len(rawURL); i++ {
		switch c := rawURL[i]; {
		case c <= ' ' || c == 0x7f:
			return nil, newError(ErrInvalidURL, "URL contains whitespace or a control character", nil)
		case c == '\\':
			// WHATWG parsers treat '\' as '/' in http(s) URLs while
			// net/url does not; refuse the ambiguity.
			return nil, newError(ErrInvalidURL, "URL contains a backslash", nil)
		}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, newError(ErrInvalidURL, "unparsable URL", unwrapURLError(err))
	}
	return f.validateParsed(u)
}

// validateParsed checks an already parsed URL (the initial request or a
// redirect target) and returns a normalised copy.
func (f *Fetcher) validateParsed(in *url.URL) (*url.URL, error) {
	u := *in
	u.Scheme = strings.ToLower(u.Scheme)
	switch u.Scheme {
	case "http", "https":
	case "":
		return nil, newError(ErrInvalidURL, "URL is not absolute (no scheme)", nil)
	default:
		return nil, newError(ErrForbidden, "scheme "+strconv.Quote(u.Scheme)+" is not allowed (http and https only)", nil)
	}
	if u.Opaque != "" {
		return nil, newError(ErrInvalidURL, "URL has no authority (expected scheme://host)", nil)
	}
	if u.User != nil {
		return nil, newError(ErrForbidden, "credentials in the URL are not allowed", nil)
	}
	if u.Host == "" {
		return nil, newError(ErrInvalidURL, "empty host", nil)
	}

	hostname, portStr := u.Hostname(), u.Port()
	port := 80
	if u.Scheme == "https" {
		port = 443
	}
	if portStr != "" {
		p, err := strconv.Atoi(portStr)
		if err != nil || p < 1 || p > 65535 {
			return nil, newError(ErrInvalidURL, "port "+strconv.Quote(portStr)+" out of range 1-65535", nil)
		}
		port = p
	}

	bracketed := strings.HasPrefix(u.Host, "[")
	var ipLit netip.Addr
	if bracketed {
		a, err := netip.ParseAddr(hostname)
		if err != nil || !a.Is6() {
			return nil, newError(ErrInvalidURL, "malformed IPv6 literal", nil)
		}
		if a.Zone() != "" {
			return nil, newError(ErrForbidden, "IPv6 zones are not allowed", nil)
		}
		ipLit = a
	} else {
		h, lit, err := checkHostname(hostname)
		if err != nil {
			return nil, err
		}
		hostname, ipLit = h, lit
	}

	if err := f.checkPort(port); err != nil {
		return nil, err
	}
	if ipLit.IsValid() {
		if err := f.checkIP(canonicalAddr(ipLit)); err != nil {
			return nil, err
		}
	}

	if portStr != "" {
		u.Host = net.JoinHostPort(hostname, strconv.Itoa(port))
	} else if bracketed {
		u.Host = "[" + hostname + "]"
	} else {
		u.Host = hostname
	}
	u.Fragment, u.RawFragment = "", ""
	return &u, nil
}

// checkHostname validates a non-bracketed host and returns it lowercased,
// plus the parsed address if it is an IPv4 literal.
func checkHostname(h string) (string, netip.Addr, error) {
	if h == "" {
		return "", netip.Addr{}, newError(ErrInvalidURL, "empty host", nil)
	}
	h = strings.ToLower(h)
	name := strings.TrimSuffix(h, ".")
	if name == "" || len(name) > 253 {
		return "", netip.Addr{}, newError(ErrInvalidURL, "malformed host", nil)
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "", netip.Addr{}, newError(ErrInvalidURL, "malformed host", nil)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				if c >= 0x80 {
					return "", netip.Addr{}, newError(ErrInvalidURL, "non-ASCII host (use the punycode xn-- form)", nil)
				}
				return "", netip.Addr{}, newError(ErrInvalidURL, "malformed host", nil)
			}
		}
	}
	// WHATWG: a host whose last label is a number is parsed as IPv4, with
	// octal, hex and shortened forms. Accept only the canonical dotted quad,
	// so every parser agrees on the address.
	if endsInNumber(labels[len(labels)-1]) {
		a, err := netip.ParseAddr(name)
		if err != nil || !a.Is4() {
			return "", netip.Addr{}, newError(ErrInvalidURL, "ambiguous numeric host "+strconv.Quote(h)+" (only dotted-quad IPv4 is accepted)", nil)
		}
		return name, a, nil
	}
	return h, netip.Addr{}, nil
}

// endsInNumber reports whether a label would be read as a number by a
// WHATWG URL parser: all decimal digits, or 0x followed by hex digits.
func endsInNumber(l string) bool {
	if strings.HasPrefix(l, "0x") {
		for i := 2; i < len(l); i++ {
			if !isHex(l[i]) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(l); i++ {
		if l[i] < '0' || l[i] > '9' {
			return false
		}
	}
	return l != ""
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
}

// unwrapURLError drops the *url.Error wrapper, whose message repeats the
// (possibly huge or secret-bearing) URL.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
