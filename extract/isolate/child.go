//go:build linux

package isolate

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/quarryhq/quarry/extract"
)

// RunWorkerIfChild turns the process into a worker when a [Pool] started
// it, and returns at once otherwise. Call it first thing in main, before
// flags, logging or anything else with side effects:
//
//	func main() {
//		isolate.RunWorkerIfChild(newExtractor)
//		// ... the program as usual
//	}
//
// In a worker it applies the pool's limits (RLIMIT_AS, no core dumps),
// builds the Extractor with newExtractor, serves documents one at a time
// until the pool closes the connection, and exits the process; it never
// returns. newExtractor runs in the worker only: it must build the same
// Extractor as the parent's (same registry, OCR, timeout and limits),
// reading its settings from the environment (see Config.Env) or the
// arguments (Config.Args), and should log to stderr, which the pool
// forwards to its Logger.
func RunWorkerIfChild(newExtractor func() (*extract.Extractor, error)) {
	version, ok := os.LookupEnv(envWorker)
	if !ok {
		return
	}
	os.Exit(runWorker(version, newExtractor))
}

// runWorker is the worker's main; it returns the exit code.
func runWorker(version string, newExtractor func() (*extract.Extractor, error)) int {
	memLimit, _ := strconv.ParseInt(os.Getenv(envMemoryLimit), 10, 64)
	maxOutput, _ := strconv.ParseInt(os.Getenv(envMaxOutput), 10, 64)
	for _, k := range []string{envWorker, envMemoryLimit, envMaxOutput} {
		os.Unsetenv(k) // the worker's own children are not workers
	}
	f := os.NewFile(workerFD, "isolate")
	c, err := net.FileConn(f) // a duplicate, close-on-exec
	f.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "isolate: worker: no protocol socket on descriptor %d: %v\n", workerFD, err)
		return 1
	}
	conn, ok := c.(*net.UnixConn)
	if !ok {
		fmt.Fprintf(os.Stderr, "isolate: worker: descriptor %d is not a Unix socket\n", workerFD)
		return 1
	}
	defer conn.Close()
	fail := func(err error) int {
		if frame, ferr := encodeFrame(hello{Version: protocolVersion, PID: os.Getpid(), Error: err.Error()}); ferr == nil {
			_, _ = conn.Write(frame)
		}
		return 1
	}
	if version != strconv.Itoa(protocolVersion) {
		return fail(fmt.Errorf("the pool speaks protocol %q, this binary %d", version, protocolVersion))
	}
	if maxOutput <= 0 {
		return fail(fmt.Errorf("%s is not set", envMaxOutput))
	}
	if err := applyLimits(memLimit); err != nil {
		return fail(err)
	}
	ex, err := build(newExtractor)
	if err != nil {
		return fail(err)
	}
	frame, err := encodeFrame(hello{Version: protocolVersion, PID: os.Getpid()})
	if err != nil {
		return fail(err)
	}
	if _, err := conn.Write(frame); err != nil {
		return 1
	}
	for {
		req, fds, err := recvRequest(conn)
		if err != nil {
			closeFDs(fds)
			if errors.Is(err, io.EOF) {
				return 0 // the pool closed the connection
			}
			fmt.Fprintf(os.Stderr, "isolate: worker: read request: %v\n", err)
			return 1
		}
		body, err := json.Marshal(handle(ex, req, fds))
		if err == nil && int64(len(body)) > maxOutput {
			body, err = json.Marshal(&response{ID: req.ID, Error: &wireError{
				Message: fmt.Sprintf("%s: the extraction result is %d bytes, over the cap of %d", extract.ErrTooLarge, len(body), maxOutput),
				Kinds:   []string{kindOutputTooLarge},
			}})
		}
		if err != nil {
			body, err = json.Marshal(&response{ID: req.ID, Error: &wireError{Message: "isolate: worker: encode result: " + err.Error()}})
			if err != nil {
				return 1
			}
		}
		if err := writeFrame(conn, body); err != nil {
			fmt.Fprintf(os.Stderr, "isolate: worker: write response: %v\n", err)
			return 1
		}
	}
}

// handle extracts one document.
func handle(ex *extract.Extractor, req *request, fds []int) *response {
	if len(fds) != 1 {
		closeFDs(fds)
		return &response{ID: req.ID, Error: &wireError{Message: fmt.Sprintf("isolate: worker: want one descriptor with a request, got %d", len(fds))}}
	}
	f := os.NewFile(uintptr(fds[0]), "input")
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), workerBudget(req.Budget))
	defer cancel()
	doc, err := ex.Extract(ctx, extract.Input{
		R:              f,
		Size:           req.Size,
		MediaType:      req.MediaType,
		Filename:       req.Filename,
		Password:       req.Password,
		HeadersFooters: req.HeadersFooters,
		Limits:         req.Limits.extract(),
	}, req.Options.extract())
	if err != nil {
		we := encodeError(err)
		if ctx.Err() != nil && we.has(kindTimeout) {
			// The Extractor names its own timeout; the pool's is the one
			// that applied.
			we.Message = fmt.Sprintf("%s after %s", extract.ErrTimeout, req.Budget.Round(time.Millisecond))
		}
		return &response{ID: req.ID, Error: we}
	}
	return &response{ID: req.ID, Document: doc}
}

// workerBudget is the worker's own deadline: a little before the parent's,
// so that a parser that honours ctx is answered with ErrTimeout by the
// Extractor before the parent has to kill the worker.
func workerBudget(budget time.Duration) time.Duration {
	return budget - min(budget/10, time.Second)
}

// build calls newExtractor, turning a panic into an error.
func build(newExtractor func() (*extract.Extractor, error)) (ex *extract.Extractor, err error) {
	if newExtractor == nil {
		return nil, errors.New("RunWorkerIfChild was given a nil newExtractor")
	}
	defer func() {
		if v := recover(); v != nil {
			ex, err = nil, fmt.Errorf("newExtractor panicked: %v", v)
		}
	}()
	ex, err = newExtractor()
	if err == nil && ex == nil {
		err = errors.New("newExtractor returned a nil Extractor")
	}
	if err != nil {
		return nil, fmt.Errorf("build the Extractor: %w", err)
	}
	return ex, nil
}

// applyLimits bounds the worker: no core dumps, and an address space of
// what the Go runtime holds now plus memLimit. (no_new_privs is per
// thread, so the pool sets it before exec instead: see spawner.)
//
// RLIMIT_AS is relative because a Go process reserves about 1.2 GiB of
// address space before main runs (go1.26, linux/amd64: VmSize 1198 MiB
// with 39 MiB of it writable); an absolute limit of 1 GiB would fail every
// allocation. Relative to the start, the limit tracks what the heap can
// grow by. A race-enabled binary maps shadow memory for every heap page,
// so there the heap gets about a third of memLimit.
func applyLimits(memLimit int64) error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("set RLIMIT_CORE: %w", err)
	}
	if memLimit <= 0 {
		return fmt.Errorf("%s is not set", envMemoryLimit)
	}
	vm, err := vmSize()
	if err != nil {
		return err
	}
	lim := uint64(vm) + uint64(memLimit)
	var cur unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_AS, &cur); err != nil {
		return fmt.Errorf("get RLIMIT_AS: %w", err)
	}
	lim = min(lim, cur.Max)
	if err := unix.Setrlimit(unix.RLIMIT_AS, &unix.Rlimit{Cur: lim, Max: lim}); err != nil {
		return fmt.Errorf("set RLIMIT_AS: %w", err)
	}
	return nil
}

// vmSize returns the process's address space size, in bytes.
func vmSize() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmSize:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmSize %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no VmSize in /proc/self/status")
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		_ = unix.Close(fd)
	}
}
