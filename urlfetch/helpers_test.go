package urlfetch

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// ---------------------------------------------------------------------------
// Canary: an HTTP server on 127.0.0.1 that counts every connection and every
// request (CONNECT included). Every test that creates one requires zero of
// both at cleanup.

type canary struct {
	srv   *httptest.Server
	port  int
	hits  atomic.Int64
	conns atomic.Int64
}

func newCanary(t *testing.T) *canary {
	t.Helper()
	c := &canary{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		t.Errorf("canary hit: %s %s (Host %s)", r.Method, r.RequestURI, r.Host)
		http.Error(w, "canary", http.StatusTeapot)
	}))
	srv.Listener.Close()
	srv.Listener = listen(t, "127.0.0.1:0")
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.conns.Add(1)
		}
	}
	srv.Start()
	c.srv = srv
	c.port = srv.Listener.Addr().(*net.TCPAddr).Port
	// Registered first, so it runs last: after fetchers and fixtures close.
	t.Cleanup(func() {
		srv.Close()
		if h, n := c.hits.Load(), c.conns.Load(); h != 0 || n != 0 {
			t.Errorf("canary: %d requests, %d connections; want 0", h, n)
		}
	})
	return c
}

func (c *canary) url(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(c.port) + path
}

func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	return ln
}

// ---------------------------------------------------------------------------
// Stub DNS on 127.0.0.1 UDP, standard library only. It answers A and AAAA
// queries from a table of functions of the per-name query count, with TTL 0;
// unknown names get NXDOMAIN.

type dnsAnswer func(n int) (a, aaaa []netip.Addr)

type stubDNS struct {
	pc      net.PacketConn
	records map[string]dnsAnswer
	mu      sync.Mutex
	counts  map[string]int // A queries per name
	done    chan struct{}
}

func fixed(addrs ...string) dnsAnswer {
	var a, aaaa []netip.Addr
	for _, s := range addrs {
		ip := netip.MustParseAddr(s)
		if ip.Is4() {
			a = append(a, ip)
		} else {
			aaaa = append(aaaa, ip)
		}
	}
	return func(int) ([]netip.Addr, []netip.Addr) { return a, aaaa }
}

func newStubDNS(t *testing.T, records map[string]dnsAnswer) *stubDNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("stub DNS: %v", err)
	}
	d := &stubDNS{pc: pc, records: records, counts: map[string]int{}, done: make(chan struct{})}
	go d.serve()
	t.Cleanup(func() {
		pc.Close()
		<-d.done
	})
	return d
}

func (d *stubDNS) serve() {
	defer close(d.done)
	buf := make([]byte, 1500)
	for {
		n, addr, err := d.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if resp := d.answer(buf[:n]); resp != nil {
			d.pc.WriteTo(resp, addr)
		}
	}
}

func (d *stubDNS) queries(name string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.counts[name]
}

const (
	dnsTypeA    = 1
	dnsTypeAAAA = 28
)

// answer builds the reply to one query message, or nil if it is malformed.
func (d *stubDNS) answer(q []byte) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil
	}
	var labels []string
	i := 12
	for {
		if i >= len(q) {
			return nil
		}
		l := int(q[i])
		if l == 0 {
			i++
			break
		}
		if l&0xC0 != 0 || i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i : i+2])
	qend := i + 4
	name := strings.ToLower(strings.Join(labels, "."))

	rcode := byte(0)
	var addrs []netip.Addr
	if rec, ok := d.records[name]; !ok {
		rcode = 3 // NXDOMAIN
	} else if qtype == dnsTypeA || qtype == dnsTypeAAAA {
		n := 0
		if qtype == dnsTypeA {
			d.mu.Lock()
			d.counts[name]++
			n = d.counts[name]
			d.mu.Unlock()
		}
		a, aaaa := rec(n)
		if qtype == dnsTypeA {
			addrs = a
		} else {
			addrs = aaaa
		}
	}

	r := make([]byte, 0, 512)
	r = append(r, q[0], q[1])                   // ID
	r = append(r, 0x84|(q[2]&0x01), 0x80|rcode) // QR, AA, RD copied; RA, RCODE
	r = binary.BigEndian.AppendUint16(r, 1)
	r = binary.BigEndian.AppendUint16(r, uint16(len(addrs)))
	r = binary.BigEndian.AppendUint16(r, 0)
	r = binary.BigEndian.AppendUint16(r, 0)
	r = append(r, q[12:qend]...) // question, verbatim
	for _, a := range addrs {
		r = append(r, 0xC0, 12) // name: pointer to the question
		r = binary.BigEndian.AppendUint16(r, qtype)
		r = binary.BigEndian.AppendUint16(r, 1) // IN
		r = binary.BigEndian.AppendUint32(r, 0) // TTL 0
		b := a.AsSlice()
		r = binary.BigEndian.AppendUint16(r, uint16(len(b)))
		r = append(r, b...)
	}
	return r
}

// resolver returns a pure-Go resolver whose every query goes to the stub
// (whatever /etc/resolv.conf says), so tests never send DNS off the machine.
func (d *stubDNS) resolver() *net.Resolver {
	addr := d.pc.LocalAddr().String()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "udp", addr)
		},
	}
}

// ---------------------------------------------------------------------------
// Test environment: canary, stub DNS, an HTTP fixture and an HTTPS fixture
// on 127.0.0.2, and a Fetcher allowed to reach 127.0.0.2 only.

type testEnv struct {
	canary  *canary
	dns     *stubDNS
	fixture *httptest.Server
	tls     *httptest.Server
	fport   int
	tport   int
	hits    sync.Map // path -> *atomic.Int64 (fixture requests by path)

	connMu      sync.Mutex
	activeConns map[net.Conn]bool // HTTP fixture connections serving a request
	peakActive  int
}

// trackConn is the HTTP fixture's ConnState hook: it counts connections
// that are serving a request at the same time.
func (e *testEnv) trackConn(c net.Conn, s http.ConnState) {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	if s == http.StateActive {
		e.activeConns[c] = true
	} else {
		delete(e.activeConns, c)
	}
	e.peakActive = max(e.peakActive, len(e.activeConns))
}

func (e *testEnv) peakActiveConns() int {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	return e.peakActive
}

func newEnv(t *testing.T, mux *http.ServeMux) *testEnv {
	t.Helper()
	e := &testEnv{canary: newCanary(t), activeConns: map[net.Conn]bool{}}
	e.dns = newStubDNS(t, map[string]dnsAnswer{
		"localhost":                fixed("127.0.0.1", "::1"),
		"metadata.google.internal": fixed("169.254.169.254"),
		"private.test":             fixed("10.0.0.1"),
		"mapped.test":              fixed("::ffff:127.0.0.1"),
		"canary.test":              fixed("127.0.0.1"),
		"fixture.test":             fixed("127.0.0.2"),
		"mixed.test":               fixed("127.0.0.1", "127.0.0.2"),
		"rebind.test": func(n int) ([]netip.Addr, []netip.Addr) {
			if n <= 1 {
				return []netip.Addr{netip.MustParseAddr("127.0.0.2")}, nil
			}
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		},
	})
	if mux == nil {
		mux = fixtureMux(e)
	}
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _ := e.hits.LoadOrStore(r.URL.Path, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
		mux.ServeHTTP(w, r)
	})

	e.fixture = httptest.NewUnstartedServer(counted)
	e.fixture.Listener.Close()
	e.fixture.Listener = listen(t, "127.0.0.2:0")
	e.fixture.Config.ConnState = e.trackConn
	e.fixture.Start()
	t.Cleanup(e.fixture.Close)
	e.fport = e.fixture.Listener.Addr().(*net.TCPAddr).Port

	e.tls = httptest.NewUnstartedServer(counted)
	e.tls.Listener.Close()
	e.tls.Listener = listen(t, "127.0.0.2:0")
	e.tls.EnableHTTP2 = true
	e.tls.StartTLS()
	t.Cleanup(e.tls.Close)
	e.tport = e.tls.Listener.Addr().(*net.TCPAddr).Port
	return e
}

func (e *testEnv) hitCount(path string) int64 {
	if v, ok := e.hits.Load(path); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// furl is a URL on the HTTP fixture; turl on the HTTPS fixture.
func (e *testEnv) furl(path string) string {
	return "http://127.0.0.2:" + strconv.Itoa(e.fport) + path
}

func (e *testEnv) turl(path string) string {
	return "https://127.0.0.2:" + strconv.Itoa(e.tport) + path
}

// fetcher builds a Fetcher allowed to reach 127.0.0.2 on the fixture ports.
// The canary's port, 80 and 443 are allowed too, so that refusals in tests
// come from the address check, not the port check. A test dial hook refuses
// any non-loopback address, so a broken guard fails the test instead of
// sending packets off the machine.
func (e *testEnv) fetcher(t *testing.T, mod func(*Config)) *Fetcher {
	t.Helper()
	cfg := Config{
		AllowCIDRs:   []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
		AllowPorts:   []int{80, 443, e.fport, e.tport, e.canary.port},
		Resolver:     e.dns.resolver(),
		TotalTimeout: 20 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.testDialHook = loopbackOnly(t)
	pool := x509.NewCertPool()
	pool.AddCert(e.tls.Certificate())
	f.transport.TLSClientConfig.RootCAs = pool
	f.transport.TLSClientConfig.ServerName = "example.com" // in httptest's cert
	t.Cleanup(f.CloseIdleConnections)
	return f
}

func loopbackOnly(t *testing.T) func(network, address string) error {
	return func(network, address string) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !ap.Addr().Unmap().IsLoopback() {
			t.Errorf("guard let through %s %s; test fence refused it", network, address)
			return errors.New("test fence: non-loopback dial")
		}
		return nil
	}
}

// fixtureMux serves the hostile and friendly fixture routes.
func fixtureMux(e *testEnv) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "hello")
	})
	mux.HandleFunc("/files/report.pdf", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		fmt.Fprint(w, "%PDF-1.4")
	})
	mux.HandleFunc("/disposition", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", r.URL.Query().Get("cd"))
		fmt.Fprint(w, "x")
	})
	// /redirect?code=302&to=URL
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		w.Header().Set("Location", r.URL.Query().Get("to"))
		w.WriteHeader(cmpOr(code, http.StatusFound))
	})
	// /chain/N redirects to /chain/N-1; /chain/0 is a 200.
	mux.HandleFunc("/chain/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n <= 0 {
			fmt.Fprint(w, "end of chain")
			return
		}
		http.Redirect(w, r, "/chain/"+strconv.Itoa(n-1), http.StatusFound)
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		http.Error(w, "status", code)
	})
	mux.HandleFunc("/endless", func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 32<<10)
		for {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/drip", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		for {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			rc.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(time.Second):
			}
		}
	})
	mux.HandleFunc("/slowheaders", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	mux.HandleFunc("/gzipbomb", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(len(gzipBomb())))
		w.Write(gzipBomb())
	})
	mux.HandleFunc("/gzipok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gzipBytes([]byte("decoded text")))
	})
	mux.HandleFunc("/brotli", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "br")
		w.Write([]byte{0x0b, 0x02, 0x80, 'x', 0x03})
	})
	mux.HandleFunc("/bigheaders", func(w http.ResponseWriter, r *http.Request) {
		big := strings.Repeat("a", 8<<10)
		for i := range 256 { // 256 x 8 KiB = 2 MiB
			w.Header().Set("X-Big-"+strconv.Itoa(i), big)
		}
		fmt.Fprint(w, "x")
	})
	// Content-Length lies, written raw on a hijacked connection.
	rawResponse := func(header string, bodyBytes int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := conn.Write([]byte(header)); err != nil {
				return
			}
			chunk := []byte(strings.Repeat("x", 64<<10))
			for sent := 0; sent < bodyBytes; sent += len(chunk) {
				if _, err := conn.Write(chunk[:min(len(chunk), bodyBytes-sent)]); err != nil {
					return
				}
			}
		}
	}
	mux.HandleFunc("/cl-small", rawResponse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\n", 100<<20))
	mux.HandleFunc("/cl-huge", rawResponse("HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\nConnection: close\r\n\r\n", 1<<10))
	mux.HandleFunc("/cl-short", rawResponse("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n", 10))
	// /slow holds the request for d, counting concurrent requests.
	var inFlight, peak atomic.Int64
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
		fmt.Fprint(w, "slow")
	})
	mux.HandleFunc("/peak", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, peak.Load())
	})
	return mux
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// wantKind fails the test unless err matches kind under errors.Is.
func wantKind(t *testing.T, what string, err, kind error) {
	t.Helper()
	if kind == nil {
		if err != nil {
			t.Errorf("%s: unexpected error %v", what, err)
		}
		return
	}
	if !errors.Is(err, kind) {
		t.Errorf("%s: error %v; want %v", what, err, kind)
	} else if testing.Verbose() {
		t.Logf("%s: %v", what, err)
	}
}
