package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/server"
)

func TestHeadAndAllow(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodHead, "/health", nil)
	if r.status != http.StatusOK || len(r.body) != 0 {
		t.Fatalf("HEAD /health: %d %q", r.status, r.body)
	}
	r = s.do(t, http.MethodPatch, "/api/v1/source/src_x", nil)
	requireError(t, r, 405, server.CodeMethodNotAllowed)
	if allow := r.header.Get("Allow"); allow != "GET, HEAD, DELETE" && allow != "GET, DELETE, HEAD" {
		t.Fatalf("Allow = %q", allow)
	}
}

func TestContentTypeIsJSONEverywhere(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, r := range []response{
		s.do(t, http.MethodGet, "/api/v1/health", nil),                     // huma success
		s.do(t, http.MethodGet, "/api/v1/sources?limit=0", nil),            // huma validation
		s.do(t, http.MethodGet, "/api/v1/nope", nil),                       // router 404
		s.do(t, http.MethodPost, "/api/v1/upload", strings.NewReader("x")), // handler error
	} {
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q for %s", ct, r.body)
		}
	}
}

func TestMetricLabelsStayBounded(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, m := range []string{"FOOA", "FOOB", "FOOC"} {
		s.do(t, m, "/api/v1/health", nil)
	}
	for i := range 5 {
		s.do(t, http.MethodGet, "/random/path/"+strings.Repeat("x", i), nil)
	}
	body := string(s.do(t, http.MethodGet, "/metrics", nil).body)
	if strings.Contains(body, "FOOA") || !strings.Contains(body, `method="OTHER"`) || strings.Contains(body, "/random/path") {
		t.Fatalf("unbounded labels:\n%s", body)
	}
}

func TestOverCapacity(t *testing.T) {
	reg := extract.NewRegistry()
	reg.MustRegister("slow", slowParser{})
	s := newStack(t, stackOptions{registry: reg, extractTimeout: 2 * time.Second, server: func(c *server.Config) {
		c.MaxInFlight = 1
		c.QueueTimeout = 50 * time.Millisecond
	}})
	src := uploadText(t, s, "a.txt", "text")
	first := make(chan response, 1)
	go func() { first <- s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID}) }()
	// Wait until the first extraction holds the only slot.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if strings.Contains(string(s.do(t, http.MethodGet, "/metrics", nil).body), "quarry_extractions_in_flight 1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first extraction never started")
		}
	}
	r := s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID})
	requireError(t, r, 503, server.CodeOverCapacity)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	requireError(t, <-first, 422, server.CodeExtractionTimeout)
	if !strings.Contains(string(s.do(t, http.MethodGet, "/metrics", nil).body), "quarry_extractions_in_flight 0") {
		t.Fatal("the slot was not released")
	}
}

func TestMultipartWithoutParts(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodPost, "/api/v1/upload", strings.NewReader("garbage"), "Content-Type", "multipart/form-data; boundary=XX")
	requireError(t, r, 400, server.CodeInvalidRequest)
}

// TestHugeDeclaredLengthRefusedUnread sends headers promising 10 GB and no
// body: the 413 must come back without the server waiting for the body
// (RELIABILITY.md T04a).
func TestHugeDeclaredLengthRefusedUnread(t *testing.T) {
	s := newStack(t, stackOptions{})
	conn, err := net.Dial("tcp", s.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "POST /api/v1/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XX\r\nContent-Length: 10000000000\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response without the body: %v", err)
	}
	defer resp.Body.Close()
	var env envelope
	json.NewDecoder(resp.Body).Decode(&env)
	if resp.StatusCode != 413 || env.Error == nil || env.Error.Code != server.CodePayloadTooLarge {
		t.Fatalf("status %d, %+v", resp.StatusCode, env.Error)
	}
}

// TestServerLimits runs the real http.Server settings (Serve, not
// httptest): oversized headers get 431, and a client that never finishes
// its headers is cut off at ReadHeaderTimeout (T01, T03).
func TestServerLimits(t *testing.T) {
	s := newStack(t, stackOptions{server: func(c *server.Config) {
		c.ReadHeaderTimeout = 300 * time.Millisecond
		c.MaxHeaderBytes = 8 << 10
	}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.srv.Serve(ctx, ln) })
	defer func() { cancel(); wg.Wait() }()
	base := "http://" + ln.Addr().String()

	req, _ := http.NewRequest(http.MethodGet, base+"/health", nil)
	req.Header.Set("X-Pad", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("oversized headers: %d", resp.StatusCode)
	}

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /health HTTP/1.1\r\nHost: x\r\n") // and never the blank line
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	b, _ := io.ReadAll(conn) // returns when the server closes the connection
	if time.Since(start) > 5*time.Second {
		t.Fatalf("slow headers held the connection for %s", time.Since(start))
	}
	_ = b
	resp, err = http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("health after the attack: %d", resp.StatusCode)
	}
}

// TestUploadMemoryStaysFlat enforces the figure of BenchmarkUpload200MB:
// a 200 MB upload through the whole server grows the heap by far less than
// 64 MB.
func TestUploadMemoryStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("200 MB upload: skipped with -short")
	}
	s := newStack(t, stackOptions{maxUpload: 200 << 20})
	status, growth := upload200MB(t, s)
	if status != http.StatusCreated {
		t.Fatalf("status %d", status)
	}
	t.Logf("peak heap growth during a 200 MB upload: %.1f MB", float64(growth)/(1<<20))
	if growth > 64<<20 {
		t.Fatalf("peak heap grew by %d MB during a 200 MB upload", growth>>20)
	}
}
