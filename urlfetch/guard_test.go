package urlfetch

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func guardForTest(t testing.TB) *Fetcher {
	t.Helper()
	f, err := New(Config{
		AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
		AllowPorts: []int{80, 443, 8080},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// T27 and T28 at the guard itself: no socket involved.
func TestCheckAddrRefused(t *testing.T) {
	t.Parallel()
	f := guardForTest(t)
	refused := []string{
		// T27 loopback.
		"127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "0.0.0.0", "::",
		"0.1.2.3", "::127.0.0.1", "::ffff:0.0.0.0",
		// T28 private, metadata, special.
		"169.254.169.254", "::ffff:169.254.169.254", "10.0.0.1", "10.255.255.255", "172.16.0.1",
		"172.31.255.255", "192.168.1.1", "100.64.0.1", "100.127.255.255", "198.18.0.1",
		"198.19.255.255", "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1",
		"192.0.0.1", "192.0.2.1", "198.51.100.1", "203.0.113.1", "192.88.99.1",
		"fd00::1", "fc00::1", "fe80::1", "fe80::1%eth0", "febf::1", "fec0::1", "ff02::1", "ff0e::1",
		"64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1", "64:ff9b:1::1", "2002:a9fe:a9fe::", "2002:7f00:1::",
		"2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:2::1", "2001:10::1", "2001:db8::1",
		"3fff::1", "100::1", "5f00::1", "4000::1", "::ffff:10.0.0.1", "::ffff:0:a00:1",
		"::a00:1", "1::1", "e000::1",
		// Allowed address, refused port.
	}
	for _, ip := range refused {
		addr := "[" + ip + "]:80"
		if !strings.Contains(ip, ":") {
			addr = ip + ":80"
		}
		for _, network := range []string{"tcp", "tcp4", "tcp6"} {
			err := f.CheckAddr(network, addr)
			if !errors.Is(err, ErrForbidden) {
				t.Errorf("CheckAddr(%s, %s) = %v; want ErrForbidden", network, addr, err)
			}
		}
	}
}

func TestCheckAddrAllowed(t *testing.T) {
	t.Parallel()
	f := guardForTest(t)
	allowed := []string{
		"8.8.8.8:80", "1.1.1.1:443", "93.184.215.14:8080", "[2606:4700:4700::1111]:443",
		"[2a00:1450:4001:82b::200e]:80", "[::ffff:8.8.8.8]:80",
		// AllowCIDRs, including the mapped spelling.
		"127.0.0.2:80", "[::ffff:127.0.0.2]:443", "127.0.0.2:08080",
	}
	for _, a := range allowed {
		if err := f.CheckAddr("tcp", a); err != nil {
			t.Errorf("CheckAddr(tcp, %s) = %v; want nil", a, err)
		}
	}
}

func TestCheckAddrMalformed(t *testing.T) {
	t.Parallel()
	f := guardForTest(t)
	for _, tt := range []struct{ network, addr string }{
		{"udp", "8.8.8.8:80"},
		{"unix", "/tmp/sock"},
		{"ip", "8.8.8.8"},
		{"tcp", "8.8.8.8"},
		{"tcp", "localhost:80"},
		{"tcp", "example.com:80"},
		{"tcp", "8.8.8.8:0"},
		{"tcp", "8.8.8.8:65536"},
		{"tcp", "8.8.8.8:-1"},
		{"tcp", "8.8.8.8:http"},
		{"tcp", "8.8.8.8:22"},
		{"tcp", "127.0.0.2:6379"}, // AllowCIDRs do not exempt from the port check
		{"tcp", "127.0.0.2:22"},
		{"tcp", "2130706433:80"},
		{"tcp", "0x7f000001:80"},
		{"tcp", ""},
		{"tcp", ":80"},
		{"tcp", "[]:80"},
	} {
		if err := f.CheckAddr(tt.network, tt.addr); !errors.Is(err, ErrForbidden) {
			t.Errorf("CheckAddr(%q, %q) = %v; want ErrForbidden", tt.network, tt.addr, err)
		}
	}
}

func TestCheckAddrAllowCIDRsMapped(t *testing.T) {
	t.Parallel()
	// An IPv4-mapped allow entry still covers plain IPv4 and the reverse.
	cidrs, err := ParseAllowCIDRs("::ffff:10.1.0.0/112, 192.168.7.7")
	if err != nil {
		t.Fatal(err)
	}
	f, err := New(Config{AllowCIDRs: cidrs})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"10.1.2.3:80", "[::ffff:10.1.2.3]:443", "192.168.7.7:80"} {
		if err := f.CheckAddr("tcp", a); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	for _, a := range []string{"10.2.0.1:80", "192.168.7.8:80", "192.168.7.7:8080"} {
		if err := f.CheckAddr("tcp", a); !errors.Is(err, ErrForbidden) {
			t.Errorf("%s: %v; want ErrForbidden", a, err)
		}
	}
}

func TestParseAllowCIDRs(t *testing.T) {
	t.Parallel()
	got, err := ParseAllowCIDRs(" 127.0.0.2 , 10.0.0.0/8,,fd00::1, 192.168.1.77/24, ::ffff:1.2.3.4 ")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("127.0.0.2/32"),
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("fd00::1/128"),
		netip.MustParsePrefix("192.168.1.0/24"),
		netip.MustParsePrefix("1.2.3.4/32"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v; want %v", got, want)
	}
	if got, err := ParseAllowCIDRs(""); err != nil || got != nil {
		t.Errorf("empty: %v, %v", got, err)
	}
	for _, bad := range []string{"localhost", "10.0.0.0/33", "127.1", "fe80::1%eth0", "1.2.3.4/", "1.2.3.4/x"} {
		if _, err := ParseAllowCIDRs(bad); err == nil {
			t.Errorf("ParseAllowCIDRs(%q) accepted", bad)
		}
	}
}

func TestNewValidation(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg   Config
		field string
	}{
		{Config{AllowPorts: []int{80, 0}}, "Config.AllowPorts[1]"},
		{Config{AllowPorts: []int{70000}}, "Config.AllowPorts[0]"},
		{Config{AllowCIDRs: []netip.Prefix{{}}}, "Config.AllowCIDRs[0]"},
		{Config{MaxBytes: -1}, "Config.MaxBytes"},
		{Config{MaxRedirects: -2}, "Config.MaxRedirects"},
		{Config{ConnectTimeout: -1}, "Config.ConnectTimeout"},
		{Config{TLSHandshakeTimeout: -1}, "Config.TLSHandshakeTimeout"},
		{Config{ResponseHeaderTimeout: -1}, "Config.ResponseHeaderTimeout"},
		{Config{TotalTimeout: -1}, "Config.TotalTimeout"},
		{Config{MaxResponseHeaderBytes: -1}, "Config.MaxResponseHeaderBytes"},
		{Config{MaxConcurrent: -1}, "Config.MaxConcurrent"},
		{Config{UserAgent: "a\r\nX-Evil: 1"}, "Config.UserAgent"},
	} {
		_, err := New(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("New(%+v) = %v; want an error naming %s", tt.cfg, err, tt.field)
		}
	}

	f, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := f.cfg
	if !slices.Equal(f.ports, []int{80, 443}) || c.MaxBytes != 50<<20 || c.MaxRedirects != 3 ||
		c.TotalTimeout.Seconds() != 30 || c.ConnectTimeout.Seconds() != 10 ||
		c.MaxResponseHeaderBytes != 64<<10 || c.MaxConcurrent != 10 || cap(f.sem) != 10 ||
		c.UserAgent != DefaultUserAgent || c.Logger == nil || f.transport.Proxy != nil ||
		!f.transport.ForceAttemptHTTP2 {
		t.Errorf("defaults not applied: %+v", c)
	}
}
