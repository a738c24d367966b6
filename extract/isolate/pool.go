//go:build linux

package isolate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quarryhq/quarry/extract"
)

// Pool extracts documents in worker processes: a parser that hangs,
// exhausts memory, panics in a goroutine or exits takes down a worker, not
// the caller. A Pool is safe for concurrent use.
type Pool struct {
	cfg  Config
	log  *slog.Logger
	env  []string
	args []string

	jobs      chan *job     // unbuffered: a send succeeds when a slot takes the job
	closing   chan struct{} // closed by Close
	closeOnce sync.Once
	// hardCtx is cancelled when Close's context ends: extractions still
	// running are then killed.
	hardCtx  context.Context
	hardStop context.CancelFunc
	slots    sync.WaitGroup

	spawns      chan spawnRequest
	spawnerOnce sync.Once
	spawnerDone chan struct{}

	ids   atomic.Uint64
	stats counters
}

// job is one document handed to a slot.
type job struct {
	ctx  context.Context
	req  request
	file *os.File
	res  chan result // buffered: the slot never blocks on a caller
}

type result struct {
	doc *extract.Document
	err error
}

// New starts a pool of cfg.Workers worker processes and waits until each
// has answered its handshake. It fails when a worker cannot start, for
// example because the program does not call [RunWorkerIfChild].
func New(cfg Config) (*Pool, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &Pool{
		cfg:         cfg,
		log:         cfg.Logger,
		jobs:        make(chan *job),
		closing:     make(chan struct{}),
		spawns:      make(chan spawnRequest),
		spawnerDone: make(chan struct{}),
	}
	p.hardCtx, p.hardStop = context.WithCancel(context.Background())
	p.args = append([]string{os.Args[0]}, cfg.Args...)
	p.env = append(os.Environ(), cfg.Env...)
	p.env = append(p.env,
		envWorker+"="+strconv.Itoa(protocolVersion),
		envMemoryLimit+"="+strconv.FormatInt(cfg.MemoryLimit, 10),
		envMaxOutput+"="+strconv.FormatInt(cfg.MaxOutputBytes, 10),
		"GOMEMLIMIT="+strconv.FormatInt(cfg.MemoryLimit/10*8, 10),
	)
	go p.spawner()

	ready := make(chan error, cfg.Workers)
	for range cfg.Workers {
		p.slots.Add(1)
		go p.slot(ready)
	}
	var errs []error
	for range cfg.Workers {
		if err := <-ready; err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		_ = p.Close(context.Background())
		return nil, errs[0]
	}
	return p, nil
}

// Registry returns the registry of Config.Extractor.
func (p *Pool) Registry() *extract.Registry { return p.cfg.Extractor.Registry() }

// Limits returns the limits of Config.Extractor, which every worker
// applies (or tighter ones of its own).
func (p *Pool) Limits() extract.Limits { return p.cfg.Extractor.Limits() }

// Sniff returns the media type of a document with Config.Extractor, in the
// calling process: it reads SniffLen bytes and runs no parser but the
// registered Sniffers, which must be fast and bounded.
func (p *Pool) Sniff(ctx context.Context, r io.ReaderAt, size int64, filename string) (string, error) {
	return p.cfg.Extractor.Sniff(ctx, r, size, filename)
}

// Extract extracts in in a worker process, with the semantics of
// [extract.Extractor.Extract]: the worker sniffs when in.MediaType is
// empty, then parses, recognises, summarises and chunks as its Extractor
// does, and errors match the same sentinels (and *extract.OptionError)
// with the same messages. In addition:
//
//   - A worker that passes Config.Timeout is killed: ErrTimeout.
//   - A worker that dies (a signal, the memory limit, a panic in a
//     goroutine, os.Exit): ErrMalformed, "the parser process died".
//   - A result over Config.MaxOutputBytes: ErrTooLarge.
//   - ctx ending kills the worker: ctx.Err(); but a deadline of ctx
//     that passes while the worker parses is ErrTimeout, as the Extractor
//     answers (while waiting for a worker it is ctx.Err()).
//   - After Close: ErrClosed.
//
// A document whose parser is an [extract.ExternalTool] (audio and video:
// the work runs in ffmpeg and a speech engine, each isolated on its own)
// is extracted in the calling process by Config.Extractor, under the
// parser's own deadline.
//
// When every worker is busy Extract waits for one, until ctx ends.
func (p *Pool) Extract(ctx context.Context, in extract.Input, opts extract.Options) (*extract.Document, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case <-p.closing:
		return nil, ErrClosed
	default:
	}
	if in.R == nil {
		return nil, errors.New("isolate: Input.R is nil")
	}
	if in.Size < 0 {
		return nil, errors.New("isolate: Input.Size is negative")
	}
	if p.external(ctx, &in) {
		return p.cfg.Extractor.Extract(ctx, in, opts)
	}
	f, err := p.inputFile(ctx, in)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	j := &job{
		ctx: ctx,
		req: request{
			ID:             p.ids.Add(1),
			Size:           in.Size,
			MediaType:      in.MediaType,
			Filename:       in.Filename,
			Password:       in.Password,
			HeadersFooters: in.HeadersFooters,
			Limits:         limitsToWire(tighter(p.cfg.Extractor.Limits(), in.Limits)),
			Options:        optionsToWire(opts),
		},
		file: f,
		res:  make(chan result, 1),
	}
	p.stats.waiting.Add(1)
	select {
	case p.jobs <- j:
		p.stats.waiting.Add(-1)
	case <-ctx.Done():
		p.stats.waiting.Add(-1)
		return nil, ctx.Err()
	case <-p.closing:
		p.stats.waiting.Add(-1)
		return nil, ErrClosed
	}
	r := <-j.res
	return r.doc, r.err
}

// external reports whether the parser for in is an extract.ExternalTool,
// sniffing in.MediaType first when it is empty (a sniffing failure is left
// for the worker to report).
func (p *Pool) external(ctx context.Context, in *extract.Input) bool {
	if in.MediaType == "" && in.Size > 0 {
		mt, err := p.cfg.Extractor.Sniff(ctx, in.R, in.Size, in.Filename)
		if err != nil {
			return false
		}
		in.MediaType = mt
	}
	_, parser, err := p.cfg.Extractor.Registry().Lookup(in.MediaType)
	if err != nil {
		return false
	}
	_, ok := parser.(extract.ExternalTool)
	return ok
}

// Close stops the pool: Extract refuses new documents at once, documents
// being extracted finish, and every worker exits. When ctx ends first, the
// workers still busy are killed (their callers get ErrClosed) and Close
// returns ctx.Err() once they are gone. Close always waits for every worker
// process to be reaped. Calling Close again waits the same way.
func (p *Pool) Close(ctx context.Context) error {
	p.closeOnce.Do(func() { close(p.closing) })
	done := make(chan struct{})
	go func() {
		p.slots.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		p.hardStop()
		<-done
	}
	p.hardStop()
	p.stopSpawner()
	return err
}

type counters struct {
	documents, workerStarts, startFailures, timeouts, canceled, crashes, recycles, outputCapHits atomic.Uint64
	busy, waiting                                                                                atomic.Int64
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	s := &p.stats
	return Stats{
		Documents:     s.documents.Load(),
		WorkerStarts:  s.workerStarts.Load(),
		StartFailures: s.startFailures.Load(),
		Timeouts:      s.timeouts.Load(),
		Canceled:      s.canceled.Load(),
		Crashes:       s.crashes.Load(),
		Recycles:      s.recycles.Load(),
		OutputCapHits: s.outputCapHits.Load(),
		Busy:          s.busy.Load(),
		Waiting:       s.waiting.Load(),
	}
}

// slot owns one worker process at a time: it starts it, hands it jobs one
// by one, and replaces it when it dies, times out or is retired.
func (p *Pool) slot(ready chan<- error) {
	defer p.slots.Done()
	w, err := p.start()
	ready <- err
	for {
		select {
		case <-p.closing:
			if w != nil {
				p.stop(w, true)
			}
			return
		case j := <-p.jobs:
			if w == nil {
				if w, err = p.start(); err != nil {
					j.res <- result{err: err}
					continue
				}
			}
			p.stats.busy.Add(1)
			r, keep := p.serve(w, j)
			p.stats.busy.Add(-1)
			j.res <- r
			if !keep {
				w = nil // serve stopped it
			} else if w.docs >= p.cfg.MaxDocsPerWorker {
				p.stats.recycles.Add(1)
				p.stop(w, true)
				w = nil
			}
			if w == nil && !p.isClosing() {
				if w, err = p.start(); err != nil {
					// The next job retries, and reports the error if it
					// fails again.
					p.log.Error("isolate: cannot start a replacement worker", "err", err)
					w = nil
				}
			}
		}
	}
}

func (p *Pool) isClosing() bool {
	select {
	case <-p.closing:
		return true
	default:
		return false
	}
}

// serve runs j on w and returns its result, and whether w can take
// another job; when it cannot, serve has stopped it.
func (p *Pool) serve(w *worker, j *job) (r result, keep bool) {
	p.stats.documents.Add(1)
	budget := p.cfg.Timeout
	if d, ok := j.ctx.Deadline(); ok {
		budget = min(budget, time.Until(d))
	}
	if err := j.ctx.Err(); err != nil || budget <= 0 {
		return result{err: cmp.Or(err, context.DeadlineExceeded)}, true
	}
	j.req.Budget = budget
	resp, err := w.roundTrip(p.hardCtx, j.ctx, &j.req, j.file, time.Now().Add(budget), p.cfg.MaxOutputBytes)
	w.docs++
	if err == nil {
		return p.answer(w, resp)
	}

	// The worker failed: it is killed whatever the cause.
	var tooLarge *frameTooLargeError
	var broke *protocolError
	switch {
	case p.hardCtx.Err() != nil:
		p.stop(w, false)
		return result{err: fmt.Errorf("%w during the extraction", ErrClosed)}, false
	case j.ctx.Err() != nil:
		p.stop(w, false)
		if errors.Is(j.ctx.Err(), context.DeadlineExceeded) {
			p.stats.timeouts.Add(1)
			return result{err: fmt.Errorf("%w after %s: %w", extract.ErrTimeout, budget.Round(time.Millisecond), j.ctx.Err())}, false
		}
		p.stats.canceled.Add(1)
		return result{err: j.ctx.Err()}, false
	case errors.Is(err, os.ErrDeadlineExceeded):
		p.stop(w, false)
		p.stats.timeouts.Add(1)
		p.log.Warn("isolate: worker killed at the deadline", "pid", w.pid, "timeout", budget)
		return result{err: fmt.Errorf("%w after %s", extract.ErrTimeout, budget.Round(time.Millisecond))}, false
	case errors.As(err, &tooLarge):
		p.stop(w, false)
		p.stats.outputCapHits.Add(1)
		return result{err: fmt.Errorf("%w: the extraction result is %d bytes, over the cap of %d", extract.ErrTooLarge, tooLarge.size, tooLarge.max)}, false
	case errors.As(err, &broke):
		p.stop(w, false)
		p.stats.crashes.Add(1)
		p.log.Error("isolate: parser process broke the protocol", "pid", w.pid, "err", err)
		return result{err: fmt.Errorf("%w: the parser process broke the protocol", extract.ErrMalformed)}, false
	}
	ex := p.stop(w, false)
	p.stats.crashes.Add(1)
	p.log.Error("isolate: parser process died", "pid", w.pid, "status", ex.status, "out_of_memory", ex.oom, "err", err)
	what := ex.status
	if ex.oom {
		what = "out of memory (" + ex.status + ")"
	}
	return result{err: fmt.Errorf("%w: the parser process died: %s", extract.ErrMalformed, what)}, false
}

// answer turns the worker's response into j's result and reports whether
// w can take another job.
func (p *Pool) answer(w *worker, resp *response) (r result, keep bool) {
	if resp.Error == nil {
		return result{doc: resp.Document}, true
	}
	err := resp.Error.decode()
	if resp.Error.has(kindOutputTooLarge) {
		p.stats.outputCapHits.Add(1)
	}
	if resp.Error.has(kindTimeout) {
		// The parser may still be running in the worker, ignoring its
		// context: replace the worker.
		p.stats.timeouts.Add(1)
		p.stop(w, false)
		return result{err: err}, false
	}
	return result{err: err}, true
}
