//go:build linux

package isolate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/isolate"
	"github.com/quarryhq/quarry/extract/standard"
	"github.com/quarryhq/quarry/internal/corpustest"
)

// The test binary is its own worker: a Pool started by a test re-executes
// it, and RunWorkerIfChild turns that process into a worker before any
// test runs. goleak then checks that no test leaves a goroutine behind.
// Once every test has run, no child process may be left either.
func TestMain(m *testing.M) {
	isolate.RunWorkerIfChild(newExtractor)
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if pids, err := listChildren(); err != nil || len(pids) > 0 {
			fmt.Fprintf(os.Stderr, "child processes left after the tests: %v %v\n", pids, err)
			code = max(code, 1)
		}
		os.Exit(code)
	}))
}

// newExtractor builds the Extractor of the tests, in the workers and in the
// parent alike: every standard parser plus the hostile ones. Setting
// ISOLATE_TEST_FAIL makes it fail with that message.
func newExtractor() (*extract.Extractor, error) {
	if msg := os.Getenv("ISOLATE_TEST_FAIL"); msg != "" {
		return nil, errors.New(msg)
	}
	reg := standard.NewRegistry()
	if err := reg.Register("hostile", hostile{}); err != nil {
		return nil, err
	}
	return extract.New(reg, extract.Config{
		Timeout: time.Minute,
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
}

// hostile misbehaves in the ways a parser for untrusted input can. Each
// media type is one behaviour; parameters tune it. Only x-error, x-slow and
// x-pid may ever run in the test process itself.
type hostile struct{}

func (hostile) MediaTypes() []string {
	return []string{
		"application/x-hang",            // spins forever, ignoring ctx
		"application/x-freeze",          // stops its own process (SIGSTOP)
		"application/x-oom",             // allocates until the memory limit kills it
		"application/x-exit",            // os.Exit(3)
		"application/x-panic-goroutine", // panics in a new goroutine
		"application/x-flood",           // returns mib= MiB of text (default 200)
		"application/x-slow",            // answers after ms= milliseconds, honouring ctx
		"application/x-pid",             // returns its process ID
		"application/x-stdout",          // writes 5000 lines to stdout
		"application/x-error",           // fails with the sentinels named in kinds=
		"application/x-limits",          // reports its resource limits
		"application/x-liar",            // writes a frame of its own to the protocol socket
	}
}

var spin atomic.Uint64

func (hostile) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	text := func(s string) (*extract.Document, error) { return &extract.Document{Text: s}, nil }
	param := func(key string, def int) int {
		if n, err := strconv.Atoi(extract.MediaTypeParam(in.MediaType, key)); err == nil {
			return n
		}
		return def
	}
	switch extract.BaseType(in.MediaType) {
	case "application/x-hang":
		for {
			spin.Add(1)
		}
	case "application/x-freeze":
		// Stop this thread first (a signal to the process may be taken by
		// another thread, letting this one answer before the stop): the
		// whole process stops at once.
		if err := unix.Tgkill(os.Getpid(), unix.Gettid(), unix.SIGSTOP); err != nil {
			return nil, err
		}
		<-ctx.Done()
		return text("thawed")
	case "application/x-oom":
		var keep [][]byte
		for range 4 << 10 { // 4 GiB at most: a missing limit fails the test, not the machine
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			keep = append(keep, b)
		}
		return text(fmt.Sprintf("survived %d MiB", len(keep)))
	case "application/x-exit":
		os.Exit(3)
	case "application/x-panic-goroutine":
		go func() { panic("boom in a goroutine") }()
		<-ctx.Done()
		return nil, ctx.Err()
	case "application/x-flood":
		return text(strings.Repeat("A", param("mib", 200)<<20))
	case "application/x-slow":
		select {
		case <-time.After(time.Duration(param("ms", 100)) * time.Millisecond):
			return text("slow")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	case "application/x-pid":
		return text(strconv.Itoa(os.Getpid()))
	case "application/x-stdout":
		for i := range 5000 {
			fmt.Printf("noise %d\n", i)
		}
		return text("quiet")
	case "application/x-error":
		var errs []error
		for k := range strings.SplitSeq(extract.MediaTypeParam(in.MediaType, "kinds"), "+") {
			switch k {
			case "malformed":
				errs = append(errs, extract.ErrMalformed)
			case "encrypted":
				errs = append(errs, extract.ErrEncrypted)
			case "too_large":
				errs = append(errs, extract.ErrTooLarge)
			case "timeout":
				errs = append(errs, extract.ErrTimeout)
			case "option":
				errs = append(errs, &extract.OptionError{Field: "widgets", Reason: "must be blue"})
			}
		}
		return nil, fmt.Errorf("hostile: it went wrong: %w", errors.Join(errs...))
	case "application/x-limits":
		var as, core unix.Rlimit
		if err := unix.Getrlimit(unix.RLIMIT_AS, &as); err != nil {
			return nil, err
		}
		if err := unix.Getrlimit(unix.RLIMIT_CORE, &core); err != nil {
			return nil, err
		}
		// no_new_privs is per thread: count the threads without it.
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return nil, err
		}
		nnp := 1
		for _, task := range tasks {
			status, err := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
			if err == nil && !strings.Contains(string(status), "\nNoNewPrivs:\t1\n") {
				nnp = 0
			}
		}
		return text(fmt.Sprintf("as=%d core=%d nnp=%d gomemlimit=%s", as.Cur, core.Cur, nnp, os.Getenv("GOMEMLIMIT")))
	case "application/x-liar":
		// A compromised parser: find the protocol socket and answer in
		// the worker's place, with a frame header announcing 1 GiB
		// (huge=1) or a small frame that is not JSON.
		frame := []byte{0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'}
		if param("huge", 0) == 1 {
			frame = []byte{0x40, 0, 0, 0}
		}
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if link, _ := os.Readlink("/proc/self/fd/" + e.Name()); strings.HasPrefix(link, "socket:") {
				fd, _ := strconv.Atoi(e.Name())
				if _, err := unix.Write(fd, frame); err != nil {
					return nil, err
				}
			}
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("%w: hostile cannot read %s", extract.ErrUnsupportedFormat, in.MediaType)
}

// reference returns an in-process Extractor, built like the workers'.
func reference(t testing.TB) *extract.Extractor {
	t.Helper()
	ex, err := newExtractor()
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// recorder is a slog handler that keeps the messages of a pool's logger,
// and fails the test when a worker reports a data race.
type recorder struct {
	t  testing.TB
	mu sync.Mutex
	// lines holds "message key=value..." per record.
	lines []string
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	line := b.String()
	if strings.Contains(line, "DATA RACE") {
		r.t.Errorf("a worker reported a data race: %s", line)
	}
	r.mu.Lock()
	r.lines = append(r.lines, line)
	r.mu.Unlock()
	return nil
}

// count returns how many records contain substr.
func (r *recorder) count(substr string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, l := range r.lines {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

var poolSeq atomic.Int64

// newPool starts a pool for a test (one worker unless cfg says otherwise)
// and, when the test ends, closes it and checks that none of its worker
// processes and no temporary file is left.
func newPool(t testing.TB, cfg isolate.Config) (*isolate.Pool, *recorder) {
	t.Helper()
	if cfg.Extractor == nil {
		cfg.Extractor = reference(t)
	}
	if cfg.TempDir == "" {
		cfg.TempDir = t.TempDir()
	}
	rec := &recorder{t: t}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(rec)
	}
	cfg.Workers = max(cfg.Workers, 1)
	// Marks this pool's workers, to tell them from other pools'.
	marker := fmt.Sprintf("ISOLATE_TEST_POOL=%d", poolSeq.Add(1))
	cfg.Env = append(cfg.Env, marker)
	p, err := isolate.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		for _, pid := range childPIDs(t) {
			if env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); bytes.Contains(env, []byte(marker+"\x00")) {
				t.Errorf("worker %d left after Close", pid)
			}
		}
		if entries, err := os.ReadDir(cfg.TempDir); err != nil || len(entries) > 0 {
			t.Errorf("TempDir after Close: %v %v", entries, err)
		}
	})
	return p, rec
}

// listChildren lists the processes whose parent is this process, zombies
// included.
func listChildren() ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	self := strconv.Itoa(os.Getpid())
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		if f := strings.Fields(s[i+1:]); len(f) > 1 && f[1] == self {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

func childPIDs(t testing.TB) []int {
	t.Helper()
	pids, err := listChildren()
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

// checkNoChildren fails unless every child process of this process was
// already there before (in before). Use it where no other pool is open.
func checkNoChildren(t testing.TB, before []int) {
	t.Helper()
	var extra []int
	for _, pid := range childPIDs(t) {
		if !slices.Contains(before, pid) {
			extra = append(extra, pid)
		}
	}
	if len(extra) > 0 {
		t.Errorf("child processes left: %v", extra)
	}
}

// bytesInput returns an in-memory input of the given type.
func bytesInput(mediaType, data string) extract.Input {
	return extract.Input{R: strings.NewReader(data), Size: int64(len(data)), MediaType: mediaType}
}

// corpusPath returns the path of a corpus file, skipping the test where the
// corpus is absent (failing where QUARRY_REQUIRE_CORPUS=1).
func corpusPath(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(corpustest.Require(t), "files", name)
}

// fileInput opens path as an input; the file is closed when the test ends.
func fileInput(t testing.TB, path string) extract.Input {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return extract.Input{R: f, Size: st.Size(), Filename: filepath.Base(path)}
}

// sameDocument fails unless got and want encode to the same JSON, which is
// what the server stores and returns.
func sameDocument(t testing.TB, got, want *extract.Document) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		i := 0
		for i < len(g) && i < len(w) && g[i] == w[i] {
			i++
		}
		t.Fatalf("documents differ at byte %d of %d/%d:\n got %.200s\nwant %.200s", i, len(g), len(w), g[i:], w[i:])
	}
}

// sameError fails unless got has want's message and matches the same
// sentinels and *extract.OptionError.
func sameError(t testing.TB, got, want error) {
	t.Helper()
	if got == nil || want == nil {
		t.Fatalf("got error %v, want %v", got, want)
	}
	if got.Error() != want.Error() {
		t.Errorf("message %q, want %q", got.Error(), want.Error())
	}
	for _, s := range []error{extract.ErrUnsupportedFormat, extract.ErrMalformed, extract.ErrEncrypted, extract.ErrTooLarge, extract.ErrTimeout} {
		if errors.Is(got, s) != errors.Is(want, s) {
			t.Errorf("errors.Is(%v) = %v, want %v", s, errors.Is(got, s), errors.Is(want, s))
		}
	}
	goe, gok := errors.AsType[*extract.OptionError](got)
	woe, wok := errors.AsType[*extract.OptionError](want)
	if gok != wok || gok && *goe != *woe {
		t.Errorf("OptionError %+v (%v), want %+v (%v)", goe, gok, woe, wok)
	}
}

// stillWorks checks that the pool extracts a real document exactly as the
// in-process Extractor does.
func stillWorks(t testing.TB, p *isolate.Pool) {
	t.Helper()
	in := fileInput(t, corpusPath(t, "pdf-docling-multi_page.pdf"))
	want, err := reference(t).Extract(context.Background(), in, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Extract(context.Background(), in, extract.Options{})
	if err != nil {
		t.Fatalf("the pool no longer works: %v", err)
	}
	sameDocument(t, got, want)
}

// waitFor polls cond until it holds, for up to 10 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
