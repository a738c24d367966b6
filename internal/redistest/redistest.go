// Package redistest starts a redis-server of a test's own on a free
// loopback port, for tests that stop and restart Redis (RELIABILITY.md
// T52) or must not share the machine's Redis. It is imported only from
// tests.
package redistest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server started by Start.
type Server struct {
	tb   testing.TB
	port int
	cmd  *exec.Cmd
}

// Start runs redis-server (no persistence) on a free 127.0.0.1 port and
// waits until it answers; it is killed when the test ends. Without the
// redis-server binary the test is skipped, or fails when
// QUARRY_REQUIRE_REDIS=1 (CI).
func Start(tb testing.TB) *Server {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("QUARRY_REQUIRE_REDIS") == "1" {
			tb.Fatal("redis-server is not installed and QUARRY_REQUIRE_REDIS=1")
		}
		tb.Skip("skipped: redis-server is not installed (Debian redis-server); set QUARRY_REQUIRE_REDIS=1 to fail instead")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &Server{tb: tb, port: port}
	s.Restart()
	tb.Cleanup(s.Stop)
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL is the server's redis:// URL, database 0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Restart starts the server again on its port (after Stop) and waits
// until it answers.
func (s *Server) Restart() {
	s.tb.Helper()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		s.tb.Fatal(err)
	}
	s.cmd = cmd
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), DialTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c.Ping(context.Background()).Err() == nil {
			return
		}
	}
	s.tb.Fatalf("redis-server on %s did not answer", s.Addr())
}

// Stop kills the server and waits for it: no process is left behind.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}
