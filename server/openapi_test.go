package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/quarryhq/quarry/auth"
	"github.com/quarryhq/quarry/server"
)

var update = flag.Bool("update", false, "rewrite the golden OpenAPI documents")

// TestOpenAPIGolden keeps the contract in review: any change of the
// generated OpenAPI documents fails here until the golden files are
// rewritten with go test ./server -run OpenAPIGolden -update.
func TestOpenAPIGolden(t *testing.T) {
	s := newStack(t, stackOptions{})
	for name, api := range map[string]huma.API{"openapi.v1.json": s.srv.API(), "openapi.v2.json": s.srv.APIv2()} {
		got, err := json.MarshalIndent(api.OpenAPI(), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generated document: the HTTP contract changed. Review the change and run go test ./server -run OpenAPIGolden -update", path)
		}
	}
}

// TestGracefulShutdown: a request in flight when shutdown begins still
// completes; new connections are refused afterwards.
func TestGracefulShutdown(t *testing.T) {
	s := newStack(t, stackOptions{})
	started := make(chan struct{})
	huma.Register(s.srv.API(), huma.Operation{OperationID: "test-slow", Method: http.MethodGet, Path: "/api/v1/test-slow", Security: []map[string][]string{}},
		func(context.Context, *struct{}) (*struct{}, error) {
			close(started)
			time.Sleep(300 * time.Millisecond)
			return nil, nil
		})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	result := make(chan int, 1)
	go func() {
		resp, err := http.Get(url + "/api/v1/test-slow")
		if err != nil {
			result <- -1
			return
		}
		resp.Body.Close()
		result <- resp.StatusCode
	}()
	<-started
	cancel()
	if code := <-result; code != http.StatusNoContent && code != http.StatusOK {
		t.Fatalf("in-flight request got %d", code)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := http.Get(url + "/health"); err == nil {
		t.Fatal("the server still accepts connections after shutdown")
	}
}

// TestEveryOperationDeclaresSecurity keeps authorization explicit: an
// operation without its own Security falls back to the secure default, but
// every operation of the API states who may call it.
func TestEveryOperationDeclaresSecurity(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, api := range []huma.API{s.srv.API(), s.srv.APIv2()} {
		for path, item := range api.OpenAPI().Paths {
			for _, op := range []*huma.Operation{item.Get, item.Post, item.Put, item.Patch, item.Delete} {
				if op != nil && op.Security == nil {
					t.Errorf("%s %s (%s) declares no security", op.Method, path, op.OperationID)
				}
			}
		}
	}
}

func TestMetricsNeedAdminWhenAuthRequired(t *testing.T) {
	s := newStack(t, stackOptions{server: func(c *server.Config) { c.AuthRequired = true }})
	requireError(t, s.do(t, http.MethodGet, "/metrics", nil), 401, server.CodeUnauthorized)
	requireError(t, s.do(t, http.MethodGet, "/metrics", nil, s.bearer(t, auth.RoleEditor)...), 403, server.CodeForbidden)
	if r := s.do(t, http.MethodGet, "/metrics", nil, s.bearer(t, auth.RoleAdmin)...); r.status != 200 || !strings.Contains(string(r.body), "quarry_http_requests_total") {
		t.Fatalf("admin scrape: %d", r.status)
	}
}
