// Package urlfetch fetches user-given URLs without letting the user reach
// the server's own network (server-side request forgery, SSRF).
//
// # Threat model
//
// A user submits a URL and Quarry downloads it. The attacker controls the
// URL, the DNS answers for its host name, and the server at the other end.
// Their goal is to make Quarry talk to something only Quarry can reach:
// 127.0.0.1 (our own admin port, Redis on 6379), the cloud metadata service
// at 169.254.169.254, intranet hosts in 10/8 or 192.168/16, and so on; or to
// exhaust Quarry with a hostile response. The defences, and why each sits
// where it does:
//
//   - Check at dial time, not on the URL string. Go's net.Dialer calls its
//     Control hook after DNS resolution, once per address tried, just
//     before connect(2). [Fetcher.CheckAddr] runs there, so it sees the
//     exact IP being dialed whatever spelling produced it (127.1,
//     2130706433, [::ffff:127.0.0.1], a name that resolves to 10.0.0.1) and
//     no packet leaves for a refused address. A check on the URL string can
//     be fooled by any parser disagreement; the URL checks in [ValidateURL]
//     are an early, friendlier refusal, not the guard.
//
//   - DNS rebinding. Resolving a name to check it and then resolving it
//     again to connect gives the attacker's DNS server two chances (first a
//     public address, then 127.0.0.1, with TTL 0). Here the name is resolved
//     once, by the dialer, and the address checked is the address
//     connected to. A name with several answers (one public, one private)
//     only ever connects to the allowed ones.
//
//   - IPv4-mapped IPv6. netip.Prefix("127.0.0.0/8").Contains does not match
//     ::ffff:127.0.0.1; every address is Unmap()ped (and stripped of its
//     zone) before the range check. IPv6 forms that embed an IPv4 address
//     (NAT64 64:ff9b::/96, 6to4 2002::/16, Teredo 2001::/32,
//     IPv4-compatible ::/96) are refused outright, and only global unicast
//     IPv6 inside 2000::/3 passes.
//
//   - Refused ranges: loopback, RFC 1918 private, link-local (metadata),
//     CGNAT 100.64/10, 0/8 and unspecified, benchmarking, documentation,
//     multicast, broadcast, reserved 240/4, ULA fc00::/7, site-local,
//     discard-only 100::/64 and more (see [Fetcher.CheckAddr]). Config
//     AllowCIDRs exempts chosen ranges (intranets, tests) from this check
//     only; the port allow-list (default 80 and 443) always applies, so
//     http://allowed-host:6379/ cannot speak to a Redis.
//
//   - Redirects. Each hop is a new URL chosen by the attacker. Every hop is
//     re-validated (scheme, credentials, port, literal address), every hop's
//     connection passes the dial guard again, https to http is refused, the
//     Referer header is dropped, and at most MaxRedirects (default 3) are
//     followed.
//
//   - Proxies. net/http's DefaultTransport takes HTTP_PROXY and HTTPS_PROXY
//     from the environment, and then dials the proxy instead of the
//     target: the dial guard would check the proxy, and the proxy would
//     reach the intranet for us. This transport uses Proxy: nil, always.
//
//   - Hostile responses. Time limits for connect, TLS handshake, response
//     headers, and a total deadline that also covers reading the body (a
//     1 B/s drip ends in [ErrTimeout]); response headers capped at 64 KiB;
//     the body capped after gzip decoding (a gzip bomb ends in
//     [ErrTooLarge]); a Content-Length over the cap fails before reading;
//     other content encodings are refused rather than passed on still
//     encoded; and at most MaxConcurrent fetches run per Fetcher.
//
// # Errors
//
// Every error matches one of [ErrInvalidURL], [ErrForbidden],
// [ErrFetchFailed], [ErrTimeout] or [ErrTooLarge] under errors.Is (a
// caller's own cancellation is [context.Canceled]); most are an [*Error]
// carrying an upstream StatusCode when there is one. Error strings are for
// logs: they may name internal addresses that a hostile user should not
// learn, so map the sentinel to a fixed public message.
//
// # Testing
//
// Tests serve allowed fixtures on 127.0.0.2 with AllowCIDRs 127.0.0.2/32
// and keep a canary on 127.0.0.1, which must never be hit. The Resolver
// field lets tests answer DNS from a stub.
package urlfetch
