package urlfetch

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// urlSeeds are the T27-T29 and T32 spellings.
var urlSeeds = []string{
	"http://127.0.0.1:8080/", "http://localhost/", "http://127.1/", "http://0.0.0.0/", "http://[::1]/",
	"http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[0:0:0:0:0:ffff:127.0.0.1]/",
	"http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/", "http://127.000.000.001/",
	"http://LOCALHOST./", "http://169.254.169.254/latest/meta-data/", "http://metadata.google.internal/",
	"http://10.0.0.1/", "http://172.16.0.1/", "http://192.168.1.1/", "http://100.64.0.1/", "http://198.18.0.1/",
	"http://224.0.0.1/", "http://[fd00::1]/", "http://[fe80::1]/", "http://[64:ff9b::a9fe:a9fe]/",
	"http://[2002:a9fe:a9fe::]/", "HTTP://127.0.0.1/", "hTtP://example.com/", "file:///etc/passwd",
	"gopher://x/", "ftp://x/", "data:text/plain,x", "jar:http://x/!/", "http://evil@127.0.0.1/",
	"http://127.0.0.1#@127.0.0.2/", `http://127.0.0.2\@127.0.0.1/`, " http://example.com/", "\thttp://example.com/",
	"http://еxample.com/", "http://example.com:22/", "http://example.com:6379/", "http://example.com:0/",
	"http://example.com:65536/", "https://example.com:443/a?b#c", "http://[fe80::1%25eth0]/",
	"http://%31%32%37.0.0.1/", "http://example.com:/", "http://[::1]:80", "http://a.b.c.d.e.f/",
}

func FuzzValidateURL(f *testing.F) {
	for _, s := range urlSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ValidateURL(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidURL) && !errors.Is(err, ErrForbidden) {
				t.Fatalf("ValidateURL(%q): error %v matches no sentinel", raw, err)
			}
			if u != nil {
				t.Fatalf("ValidateURL(%q) returned a URL with an error", raw)
			}
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			t.Fatalf("ValidateURL(%q): scheme %q", raw, u.Scheme)
		}
		if u.User != nil {
			t.Fatalf("ValidateURL(%q): userinfo %v", raw, u.User)
		}
		host := u.Hostname()
		if host == "" || host != strings.ToLower(host) {
			t.Fatalf("ValidateURL(%q): host %q", raw, host)
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		if port != "80" && port != "443" {
			t.Fatalf("ValidateURL(%q): port %q not allowed", raw, port)
		}
		if a, err := netip.ParseAddr(strings.TrimSuffix(host, ".")); err == nil {
			if !refIPAllowed(a.Unmap(), nil) {
				t.Fatalf("ValidateURL(%q): refused address %s accepted", raw, a)
			}
		}
		// The normalised URL must survive a second round unchanged.
		u2, err := ValidateURL(u.String())
		if err != nil {
			t.Fatalf("ValidateURL(%q) = %s, which then fails: %v", raw, u, err)
		}
		if u2.String() != u.String() {
			t.Fatalf("ValidateURL not idempotent: %q -> %s -> %s", raw, u, u2)
		}
	})
}

func FuzzCheckAddr(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1:80", "[::1]:80", "[::ffff:127.0.0.1]:80", "[::ffff:7f00:1]:443", "0.0.0.0:80", "[::]:80",
		"169.254.169.254:80", "10.0.0.1:80", "172.16.0.1:80", "192.168.1.1:80", "100.64.0.1:80",
		"198.18.0.1:80", "224.0.0.1:80", "[fd00::1]:80", "[fe80::1%eth0]:80", "[64:ff9b::a9fe:a9fe]:80",
		"[2002:a9fe:a9fe::]:80", "[2001::1]:80", "8.8.8.8:80", "[2606:4700:4700::1111]:443",
		"127.0.0.2:80", "[::ffff:127.0.0.2]:443", "127.0.0.2:6379", "8.8.8.8:0", "8.8.8.8:65536",
		"2130706433:80", "localhost:80", "[::127.0.0.1]:80", "255.255.255.255:80",
	} {
		f.Add("tcp", s)
	}
	f.Add("udp", "8.8.8.8:80")
	f.Add("tcp6", "[2a00:1450::1]:443")
	allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
	g, err := New(Config{AllowCIDRs: allow})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, network, address string) {
		err := g.CheckAddr(network, address)
		if err != nil {
			if !errors.Is(err, ErrForbidden) {
				t.Fatalf("CheckAddr(%q, %q) = %v; not ErrForbidden", network, address, err)
			}
			return
		}
		if network != "tcp" && network != "tcp4" && network != "tcp6" {
			t.Fatalf("CheckAddr accepted network %q", network)
		}
		host, portStr, err := net.SplitHostPort(address)
		if err != nil {
			t.Fatalf("CheckAddr accepted unsplittable %q", address)
		}
		if p, err := strconv.Atoi(portStr); err != nil || (p != 80 && p != 443) {
			t.Fatalf("CheckAddr accepted port %q", portStr)
		}
		a, err := netip.ParseAddr(host)
		if err != nil {
			t.Fatalf("CheckAddr accepted non-IP host %q", host)
		}
		if !refIPAllowed(a.WithZone("").Unmap(), allow) {
			t.Fatalf("CheckAddr(%q, %q) accepted a refused address", network, address)
		}
	})
}

// refIPAllowed is an independent reference for the policy, written with
// the older net.IP API and its own copy of the refused ranges.
func refIPAllowed(a netip.Addr, allow []netip.Prefix) bool {
	ip := net.IP(a.AsSlice())
	for _, p := range allow {
		_, n, _ := net.ParseCIDR(p.String())
		if n.Contains(ip) {
			return true
		}
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() || ip.IsMulticast() ||
		ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() ||
		!ip.IsGlobalUnicast() {
		return false
	}
	refused := []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24",
		"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
		"::/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/32", "2001:db8::/32",
		"2002::/16", "fc00::/7", "fec0::/10", "3fff::/20",
	}
	for _, c := range refused {
		_, n, _ := net.ParseCIDR(c)
		if n.Contains(ip) && (len(ip) == net.IPv4len) == (n.IP.To4() != nil) {
			return false
		}
	}
	if ip.To4() == nil {
		_, g, _ := net.ParseCIDR("2000::/3")
		if !g.Contains(ip) {
			return false
		}
	}
	return true
}

func TestRefIPAllowedAgreesOnSeeds(t *testing.T) {
	t.Parallel()
	g := guardForTest(t)
	for _, s := range []string{"8.8.8.8", "127.0.0.1", "10.1.1.1", "2606:4700::1", "fd00::1", "::ffff:1.1.1.1", "64:ff9b::1"} {
		a := netip.MustParseAddr(s)
		got := g.checkIP(a.Unmap()) == nil
		if want := refIPAllowed(a.Unmap(), nil); got != want {
			t.Errorf("%s: guard %v, reference %v", s, got, want)
		}
	}
}
