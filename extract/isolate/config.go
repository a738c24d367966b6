package isolate

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/quarryhq/quarry/extract"
)

// Defaults applied by [New] to zero Config fields.
const (
	DefaultMaxDocsPerWorker = 100
	DefaultTimeout          = 30 * time.Second
	DefaultStartTimeout     = 10 * time.Second
	DefaultMemoryLimit      = 1 << 30  // 1 GiB
	DefaultMaxOutputBytes   = 64 << 20 // 64 MiB
)

// MaxOutputBytesLimit is the highest Config.MaxOutputBytes accepted: what
// a frame's 4-byte length can announce.
const MaxOutputBytesLimit = 1<<32 - 1

// MinMemoryLimit is the lowest Config.MemoryLimit accepted: below it the
// Go runtime of a worker cannot do useful work.
const MinMemoryLimit = 32 << 20

// selfExe runs the very binary of the running process, even after the file
// on disk was replaced by an upgrade, so a worker always speaks the
// parent's protocol (docker's reexec does the same).
const selfExe = "/proc/self/exe"

// ErrClosed is returned by Extract once Close has been called, and by an
// extraction that Close stopped.
var ErrClosed = errors.New("isolate: pool closed")

// Config configures a [Pool]. Every zero field takes the default named in
// its comment; only Extractor is required.
type Config struct {
	// Extractor is the parent's own Extractor, built like the workers'
	// (same registry, same limits). The Pool never parses with it: it
	// answers Registry, Limits and Sniff, and its Limits are sent with
	// every request, so a worker never exceeds what Limits reports.
	// Required.
	Extractor *extract.Extractor

	// Executable is the program started as a worker; it must call
	// [RunWorkerIfChild] at the start of main. Default /proc/self/exe (the
	// running binary itself), or os.Executable() where /proc is absent.
	Executable string
	// Args are the worker's arguments after argv[0]. Default none.
	Args []string
	// Env is added to the parent's environment for the worker, as
	// "KEY=value" entries; later entries win. The worker's main can read
	// its configuration from it.
	Env []string

	// Workers is the number of worker processes, started by New and kept
	// warm; at most that many documents are extracted at once and further
	// calls wait. Default runtime.GOMAXPROCS(0).
	Workers int
	// MaxDocsPerWorker retires a worker after that many documents (its
	// replacement starts at once), bounding what a slow leak in a parser
	// can accumulate. Default 100.
	MaxDocsPerWorker int
	// Timeout is the wall-clock deadline of one document, from the moment
	// a worker takes it. The worker's Extractor gets a slightly earlier
	// deadline and answers ErrTimeout itself when its parser honours ctx;
	// otherwise the worker's process group is killed (SIGKILL) when
	// Timeout passes. Either way the worker is replaced. Default 30s.
	Timeout time.Duration
	// StartTimeout bounds a worker's start, until its handshake. Default
	// 10s.
	StartTimeout time.Duration
	// MemoryLimit bounds the memory a worker may add to what its Go runtime
	// holds at start, in bytes: the worker sets RLIMIT_AS to its address
	// space at start plus MemoryLimit, and GOMEMLIMIT to 80% of
	// MemoryLimit so that the collector works harder before the hard
	// limit. A worker over it dies ("out of memory") and the document
	// fails with ErrMalformed. At least MinMemoryLimit. Default 1 GiB.
	MemoryLimit int64
	// MaxOutputBytes caps the encoded result of one document; a larger
	// one fails with ErrTooLarge. Default 64 MiB.
	MaxOutputBytes int64
	// TempDir holds a copy of each document over 256 KiB that is not
	// already a regular file (smaller ones are copied to memory), as an
	// unnamed file that cannot outlive the process. Default os.TempDir().
	TempDir string
	// Logger receives worker events (starts, crashes, timeouts) and the
	// workers' stderr and stdout, at most 200 lines of 2 KiB per worker.
	// Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Executable == "" {
		c.Executable = selfExe
		if _, err := os.Stat(selfExe); err != nil {
			if exe, err := os.Executable(); err == nil {
				c.Executable = exe
			}
		}
	}
	c.Workers = cmp.Or(c.Workers, runtime.GOMAXPROCS(0))
	c.MaxDocsPerWorker = cmp.Or(c.MaxDocsPerWorker, DefaultMaxDocsPerWorker)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.StartTimeout = cmp.Or(c.StartTimeout, DefaultStartTimeout)
	c.MemoryLimit = cmp.Or(c.MemoryLimit, DefaultMemoryLimit)
	c.MaxOutputBytes = cmp.Or(c.MaxOutputBytes, DefaultMaxOutputBytes)
	c.TempDir = cmp.Or(c.TempDir, os.TempDir())
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	if c.Extractor == nil {
		return errors.New("isolate: Config.Extractor is required (the parent's Extractor answers Registry, Limits and Sniff)")
	}
	if st, err := os.Stat(c.Executable); err != nil {
		return fmt.Errorf("isolate: Config.Executable: %w", err)
	} else if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("isolate: Config.Executable: %s is not an executable file", c.Executable)
	}
	for i, kv := range c.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("isolate: Config.Env[%d]: want KEY=value, got %q", i, kv)
		}
	}
	if c.Workers < 0 {
		return fmt.Errorf("isolate: Config.Workers: %d is negative", c.Workers)
	}
	if c.MaxDocsPerWorker < 0 {
		return fmt.Errorf("isolate: Config.MaxDocsPerWorker: %d is negative", c.MaxDocsPerWorker)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("isolate: Config.Timeout: %v is negative", c.Timeout)
	}
	if c.StartTimeout < 0 {
		return fmt.Errorf("isolate: Config.StartTimeout: %v is negative", c.StartTimeout)
	}
	if c.MemoryLimit < MinMemoryLimit {
		return fmt.Errorf("isolate: Config.MemoryLimit: %d bytes is below the minimum of %d", c.MemoryLimit, MinMemoryLimit)
	}
	if c.MaxOutputBytes < 0 || c.MaxOutputBytes > MaxOutputBytesLimit {
		return fmt.Errorf("isolate: Config.MaxOutputBytes: %d is not between 0 and %d", c.MaxOutputBytes, int64(MaxOutputBytesLimit))
	}
	if st, err := os.Stat(c.TempDir); err != nil {
		return fmt.Errorf("isolate: Config.TempDir: %w", err)
	} else if !st.IsDir() {
		return fmt.Errorf("isolate: Config.TempDir: %s is not a directory", c.TempDir)
	}
	return nil
}

// Stats are counters of a Pool's activity, for metrics. Counters only grow;
// Busy and Waiting are gauges.
type Stats struct {
	// Documents is the number of documents handed to a worker.
	Documents uint64
	// WorkerStarts counts worker processes started (and StartFailures
	// those that did not complete their handshake).
	WorkerStarts  uint64
	StartFailures uint64
	// Timeouts counts documents that ended in ErrTimeout: the worker
	// answered ErrTimeout or was killed at the deadline (it is replaced
	// either way).
	Timeouts uint64
	// Canceled counts workers killed because the caller's context was
	// cancelled.
	Canceled uint64
	// Crashes counts workers that died during a document (a signal, the
	// memory limit, a panic, an exit, a protocol error).
	Crashes uint64
	// Recycles counts workers retired after MaxDocsPerWorker documents.
	Recycles uint64
	// OutputCapHits counts results refused for MaxOutputBytes.
	OutputCapHits uint64
	// Busy is the number of workers extracting now; Waiting the number of
	// Extract calls waiting for a worker.
	Busy    int64
	Waiting int64
}
