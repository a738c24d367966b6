//go:build linux

package isolate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// stopGrace is how long a retired worker has to exit after its socket
// closes before it is killed.
const stopGrace = 2 * time.Second

// worker is the parent's handle on one worker process. Only the slot that
// started it uses it.
type worker struct {
	cmd  *exec.Cmd
	conn *net.UnixConn
	pid  int
	docs int
	out  *logSink
}

// start starts a worker process and waits for its handshake.
func (p *Pool) start() (*worker, error) {
	if p.hardCtx.Err() != nil {
		return nil, ErrClosed
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		p.stats.startFailures.Add(1)
		return nil, fmt.Errorf("isolate: start worker: socketpair: %w", err)
	}
	mine := os.NewFile(uintptr(pair[0]), "isolate")
	theirs := os.NewFile(uintptr(pair[1]), "isolate-worker")
	fc, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		theirs.Close()
		p.stats.startFailures.Add(1)
		return nil, fmt.Errorf("isolate: start worker: %w", err)
	}
	conn, ok := fc.(*net.UnixConn)
	if !ok {
		fc.Close()
		theirs.Close()
		p.stats.startFailures.Add(1)
		return nil, fmt.Errorf("isolate: start worker: socket pair is a %T", fc)
	}
	out := &logSink{log: p.log}
	cmd := &exec.Cmd{
		Path:       p.cfg.Executable,
		Args:       p.args,
		Env:        p.env,
		Stdout:     out, // a parser printing to stdout cannot reach the protocol socket
		Stderr:     out,
		ExtraFiles: []*os.File{theirs}, // workerFD
		SysProcAttr: &syscall.SysProcAttr{
			// Its own process group, so that a kill reaches anything the
			// parser started (OCR tools).
			Setpgid: true,
			// Dies with the parent. Pdeathsig follows the thread that
			// forked, which is why spawns run on one locked thread.
			Pdeathsig: syscall.SIGKILL,
		},
		// Bounds Wait when a grandchild that escaped the group holds the
		// output pipe.
		WaitDelay: time.Second,
	}
	err = p.spawn(cmd)
	theirs.Close() // the worker's copy is its only one: its exit is our EOF
	if err != nil {
		conn.Close()
		p.stats.startFailures.Add(1)
		return nil, fmt.Errorf("isolate: start worker: %w", err)
	}
	w := &worker{cmd: cmd, conn: conn, pid: cmd.Process.Pid, out: out}
	out.setPID(w.pid)
	if err := w.handshake(p.hardCtx, p.cfg.StartTimeout); err != nil {
		ex := p.stop(w, false)
		p.stats.startFailures.Add(1)
		if p.hardCtx.Err() != nil {
			return nil, ErrClosed
		}
		const hint = "does the program call isolate.RunWorkerIfChild at the start of main?"
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
			return nil, fmt.Errorf("isolate: worker %d exited before its handshake (%s): %s", w.pid, ex.status, hint)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, fmt.Errorf("isolate: worker %d did not answer its handshake within %s: %s", w.pid, p.cfg.StartTimeout, hint)
		}
		return nil, fmt.Errorf("isolate: worker %d: %w", w.pid, err)
	}
	p.stats.workerStarts.Add(1)
	p.log.Debug("isolate: worker started", "pid", w.pid)
	return w, nil
}

// handshake reads the worker's hello.
func (w *worker) handshake(hard context.Context, timeout time.Duration) error {
	if err := w.conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	stop := w.killOn(hard)
	defer stop()
	body, err := readFrame(w.conn, maxHelloFrame)
	if err != nil {
		return err
	}
	var h hello
	if err := json.Unmarshal(body, &h); err != nil {
		return fmt.Errorf("decode handshake: %w", err)
	}
	if h.Error != "" {
		return errors.New(h.Error)
	}
	if h.Version != protocolVersion {
		return fmt.Errorf("protocol version %d, want %d", h.Version, protocolVersion)
	}
	return w.conn.SetReadDeadline(time.Time{})
}

// roundTrip sends req with f and reads the response, until deadline. The
// worker is killed at once when ctx or hard ends.
func (w *worker) roundTrip(hard, ctx context.Context, req *request, f *os.File, deadline time.Time, maxOutput int64) (*response, error) {
	if err := w.conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	stopCtx := w.killOn(ctx)
	defer stopCtx()
	stopHard := w.killOn(hard)
	defer stopHard()

	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var sendErr error
	if err := rc.Control(func(fd uintptr) { sendErr = sendRequest(w.conn, req, int(fd)) }); err != nil {
		return nil, err
	}
	if sendErr != nil {
		return nil, sendErr
	}
	body, err := readFrame(w.conn, maxOutput)
	if err != nil {
		return nil, err
	}
	resp := new(response)
	if err := json.Unmarshal(body, resp); err != nil {
		return nil, &protocolError{fmt.Errorf("decode response: %w", err)}
	}
	if resp.ID != req.ID || (resp.Error == nil) == (resp.Document == nil) {
		return nil, &protocolError{fmt.Errorf("response %d to request %d", resp.ID, req.ID)}
	}
	return resp, nil
}

// killOn kills the worker when ctx ends. The returned stop function
// returns once the kill can no longer happen, so the worker may then be
// reaped without a later kill reaching a reused process ID.
func (w *worker) killOn(ctx context.Context) (stop func()) {
	fired := make(chan struct{})
	s := context.AfterFunc(ctx, func() {
		w.kill()
		close(fired)
	})
	return func() {
		if !s() {
			<-fired
		}
	}
}

// kill sends SIGKILL to the worker's process group. It must not be called
// once the worker is reaped.
func (w *worker) kill() { _ = unix.Kill(-w.pid, unix.SIGKILL) }

// exitInfo describes how a worker ended.
type exitInfo struct {
	status string // "exit status 3", "signal: killed"
	oom    bool   // the Go runtime reported running out of memory
}

// stop ends a worker and reaps it. A graceful stop closes its socket and
// lets it exit on its own for up to stopGrace; then (or at once otherwise)
// its process group is killed, which also ends anything it started.
func (p *Pool) stop(w *worker, graceful bool) exitInfo {
	w.conn.Close()
	exited := graceful && waitExit(w.pid, stopGrace)
	w.kill() // the leader is not reaped yet, so its group ID is still ours
	_ = w.cmd.Wait()
	w.out.flush()
	ex := exitInfo{status: "unknown status", oom: w.out.outOfMemory()}
	if st := w.cmd.ProcessState; st != nil {
		ex.status = st.String()
		switch {
		case graceful && !exited:
			p.log.Warn("isolate: worker did not exit when retired; killed", "pid", w.pid, "grace", stopGrace)
		case graceful && !st.Success():
			p.log.Warn("isolate: worker exited with an error when retired", "pid", w.pid, "status", ex.status)
		}
	}
	return ex
}

// waitExit waits up to d for process pid to exit, without reaping it.
func waitExit(pid int, d time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(d)
	for {
		ms := time.Until(deadline).Milliseconds()
		if ms <= 0 {
			return false
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(ms))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err == nil && n > 0
	}
}

// spawnRequest asks the spawner to start cmd.
type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// spawner starts every worker from one goroutine locked to its OS thread.
//
// Pdeathsig fires when the thread that forked the child exits, not the
// process (golang/go#27505); a thread of the Go scheduler can exit under a
// goroutine that called LockOSThread elsewhere, which would kill healthy
// workers. The spawner's thread lives as long as the pool.
//
// The thread also sets no_new_privs, which workers inherit through fork and
// exec: nothing a parser executes can gain privileges (setuid, file
// capabilities). The flag is per thread, which is why the worker cannot
// set it on itself (its other threads would not have it), and why it stays
// on this thread, which no other goroutine ever runs on.
func (p *Pool) spawner() {
	runtime.LockOSThread() // never unlocked: the thread ends with the pool
	defer close(p.spawnerDone)
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		p.log.Warn("isolate: cannot set no_new_privs for workers", "err", err)
	}
	for r := range p.spawns {
		r.done <- r.cmd.Start()
	}
}

// spawn starts cmd on the spawner's thread.
func (p *Pool) spawn(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	p.spawns <- spawnRequest{cmd: cmd, done: done}
	return <-done
}

// stopSpawner ends the spawner once no slot can spawn any more.
func (p *Pool) stopSpawner() {
	p.spawnerOnce.Do(func() { close(p.spawns) })
	<-p.spawnerDone
}

// Bounds on what a worker's output may put in the log.
const (
	maxLogLines = 200
	maxLogLine  = 2 << 10
)

// logSink receives a worker's stdout and stderr and logs them line by line,
// bounded, and notices the Go runtime's out-of-memory message.
type logSink struct {
	log *slog.Logger

	mu      sync.Mutex
	pid     int
	line    []byte
	cut     bool
	lines   int
	dropped int
	oom     bool
}

func (s *logSink) setPID(pid int) {
	s.mu.Lock()
	s.pid = pid
	s.mu.Unlock()
}

func (s *logSink) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		chunk := b
		if i >= 0 {
			chunk = b[:i]
		}
		if room := maxLogLine - len(s.line); len(chunk) > room {
			chunk = chunk[:max(room, 0)]
			s.cut = true
		}
		s.line = append(s.line, chunk...)
		if i < 0 {
			break
		}
		s.emit()
		b = b[i+1:]
	}
	return n, nil
}

// emit logs the current line. s.mu is held.
func (s *logSink) emit() {
	text := strings.ToValidUTF8(string(s.line), "\uFFFD")
	cut := s.cut
	s.line, s.cut = s.line[:0], false
	if strings.HasPrefix(text, "fatal error: ") && strings.Contains(text, "out of memory") {
		s.oom = true
	}
	if s.lines >= maxLogLines {
		s.dropped++
		return
	}
	s.lines++
	attrs := []any{"pid", s.pid, "line", text}
	if cut {
		attrs = append(attrs, "truncated", true)
	}
	s.log.Info("isolate: worker output", attrs...)
}

// flush logs a last unterminated line and how many lines were dropped.
func (s *logSink) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.line) > 0 || s.cut {
		s.emit()
	}
	if s.dropped > 0 {
		s.log.Warn("isolate: worker output dropped", "pid", s.pid, "lines", s.dropped)
		s.dropped = 0
	}
}

func (s *logSink) outOfMemory() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oom
}
