package urlfetch

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// refusedRange is one address block that is never fetched unless a
// Config.AllowCIDRs entry covers the address.
type refusedRange struct {
	prefix netip.Prefix
	why    string
}

// refusedRanges lists the special-purpose blocks (IANA IPv4 and IPv6
// Special-Purpose Address Registries, RFC 6890 and successors) that are
// refused. More specific entries come first so the reason is precise. On
// top of this list, [checkIP] refuses any IPv4 address that is not global
// unicast and any IPv6 address outside 2000::/3.
var refusedRanges = func() []refusedRange {
	list := []struct{ cidr, why string }{
		// IPv4.
		{"0.0.0.0/8", "in 0.0.0.0/8 (this network / unspecified)"},
		{"10.0.0.0/8", "private (10.0.0.0/8)"},
		{"100.64.0.0/10", "shared address space / CGNAT (100.64.0.0/10)"},
		{"127.0.0.0/8", "loopback (127.0.0.0/8)"},
		{"169.254.0.0/16", "link-local (169.254.0.0/16, cloud metadata)"},
		{"172.16.0.0/12", "private (172.16.0.0/12)"},
		{"192.0.0.0/24", "IETF protocol assignments (192.0.0.0/24)"},
		{"192.0.2.0/24", "documentation (192.0.2.0/24)"},
		{"192.88.99.0/24", "6to4 relay anycast (192.88.99.0/24)"},
		{"192.168.0.0/16", "private (192.168.0.0/16)"},
		{"198.18.0.0/15", "benchmarking (198.18.0.0/15)"},
		{"198.51.100.0/24", "documentation (198.51.100.0/24)"},
		{"203.0.113.0/24", "documentation (203.0.113.0/24)"},
		{"224.0.0.0/4", "multicast (224.0.0.0/4)"},
		{"255.255.255.255/32", "broadcast (255.255.255.255)"},
		{"240.0.0.0/4", "reserved (240.0.0.0/4)"},
		// IPv6.
		{"::/128", "unspecified (::)"},
		{"::1/128", "loopback (::1)"},
		{"::ffff:0:0/96", "IPv4-mapped (::ffff:0:0/96)"},
		{"::/96", "IPv4-compatible (::/96)"},
		{"64:ff9b::/96", "NAT64 (64:ff9b::/96)"},
		{"64:ff9b:1::/48", "local-use NAT64 (64:ff9b:1::/48)"},
		{"100::/64", "discard-only (100::/64)"},
		{"2001::/32", "Teredo (2001::/32)"},
		{"2001:2::/48", "benchmarking (2001:2::/48)"},
		{"2001::/23", "IETF protocol assignments (2001::/23)"},
		{"2001:db8::/32", "documentation (2001:db8::/32)"},
		{"2002::/16", "6to4 (2002::/16)"},
		{"3fff::/20", "documentation (3fff::/20)"},
		{"5f00::/16", "SRv6 SIDs (5f00::/16)"},
		{"fc00::/7", "unique local (fc00::/7)"},
		{"fe80::/10", "link-local (fe80::/10)"},
		{"fec0::/10", "site-local (fec0::/10)"},
		{"ff00::/8", "multicast (ff00::/8)"},
	}
	out := make([]refusedRange, len(list))
	for i, r := range list {
		out[i] = refusedRange{netip.MustParsePrefix(r.cidr), r.why}
	}
	return out
}()

var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// refusedReason reports why addr (zone-free, already unmapped) is refused,
// or "" if it is a public global unicast address. AllowCIDRs are not
// consulted here.
func refusedReason(addr netip.Addr) string {
	for _, r := range refusedRanges {
		if r.prefix.Contains(addr) {
			return r.why
		}
	}
	switch {
	case !addr.IsValid():
		return "not an IP address"
	case addr.Is4() && !addr.IsGlobalUnicast():
		return "not global unicast"
	case addr.Is6() && !globalUnicast6.Contains(addr):
		return "not global unicast (outside 2000::/3)"
	}
	return ""
}

// canonicalAddr strips the zone and unmaps IPv4-mapped IPv6 addresses.
// Without Unmap, netip's Prefix.Contains would not match ::ffff:127.0.0.1
// against 127.0.0.0/8.
func canonicalAddr(a netip.Addr) netip.Addr {
	return a.WithZone("").Unmap()
}

// canonicalPrefix unmaps an IPv4-mapped prefix (::ffff:10.0.0.0/104 becomes
// 10.0.0.0/8) and masks the host bits.
func canonicalPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() {
		bits := p.Bits() - 96
		if bits < 0 {
			// Wider than the mapped block: keep it as IPv6; it cannot
			// match an unmapped address, so it is harmless.
			return p.Masked()
		}
		p = netip.PrefixFrom(a.Unmap(), bits)
	}
	return p.Masked()
}

// checkIP applies the range policy: allowed if covered by an AllowCIDRs
// entry, else refused if in any special range. addr must be canonical.
func (f *Fetcher) checkIP(addr netip.Addr) error {
	for _, p := range f.allow {
		if p.Contains(addr) {
			return nil
		}
	}
	if why := refusedReason(addr); why != "" {
		return newError(ErrForbidden, "address "+addr.String()+" is "+why, nil)
	}
	return nil
}

func (f *Fetcher) checkPort(port int) error {
	if !slices.Contains(f.ports, port) {
		return newError(ErrForbidden, "port "+strconv.Itoa(port)+" is not allowed", nil)
	}
	return nil
}

// CheckAddr is the dial-time guard, installed as the net.Dialer Control
// hook of the Fetcher's transport: it runs for every connection attempt
// (every address of every redirect hop) after DNS resolution and before the
// connect system call, so no packet is sent to a refused address. network
// must be tcp, tcp4 or tcp6 and address an IP literal with a port
// ("127.0.0.1:80", "[::1]:443"), as the dialer passes them.
//
// The IP is unmapped (::ffff:a.b.c.d is checked as a.b.c.d) and stripped of
// any zone. It passes if an AllowCIDRs entry covers it; otherwise it must be
// global unicast and outside every refused range (loopback, private,
// link-local, CGNAT, multicast, reserved, documentation, NAT64, 6to4,
// Teredo, ULA, ...). The port must be in AllowPorts regardless. Refusals
// wrap [ErrForbidden].
func (f *Fetcher) CheckAddr(network, address string) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return newError(ErrForbidden, "network "+strconv.Quote(network)+" is not allowed", nil)
	}
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return newError(ErrForbidden, "malformed dial address "+strconv.Quote(address), nil)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return newError(ErrForbidden, "dial address "+strconv.Quote(host)+" is not an IP literal", nil)
	}
	port, err := parsePort(portStr)
	if err != nil {
		return newError(ErrForbidden, "malformed dial port "+strconv.Quote(portStr), nil)
	}
	if err := f.checkPort(port); err != nil {
		return err
	}
	if err := f.checkIP(canonicalAddr(addr)); err != nil {
		f.logger.Debug("urlfetch: dial refused", "network", network, "address", address, "err", err)
		return err
	}
	return nil
}

// parsePort parses a decimal port in 1..65535 (leading zeros allowed, as
// Go's dialer accepts them).
func parsePort(s string) (int, error) {
	if s == "" || len(s) > 8 {
		return 0, fmt.Errorf("bad port %q", s)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad port %q", s)
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %d out of range 1-65535", n)
	}
	return n, nil
}

// ParseAllowCIDRs parses a comma-separated list of CIDR prefixes and bare
// IP addresses, as given in QUARRY_FETCH_ALLOW_CIDRS, for
// Config.AllowCIDRs. Bare IPs become /32 (IPv4) or /128 (IPv6); blanks
// around entries and empty entries are ignored; host bits are masked off;
// IPv4-mapped forms are unmapped. An empty string yields nil. Zoned
// addresses are refused.
func ParseAllowCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		var p netip.Prefix
		if strings.Contains(entry, "/") {
			var err error
			p, err = netip.ParsePrefix(entry)
			if err != nil {
				return nil, fmt.Errorf("urlfetch: allow CIDRs: entry %q: %w", entry, err)
			}
		} else {
			a, err := netip.ParseAddr(entry)
			if err != nil {
				return nil, fmt.Errorf("urlfetch: allow CIDRs: entry %q: %w", entry, err)
			}
			if a.Zone() != "" {
				return nil, fmt.Errorf("urlfetch: allow CIDRs: entry %q: zones are not allowed", entry)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, canonicalPrefix(p))
	}
	return out, nil
}
