/*
Package isolate runs parsers in worker processes, so that a document that
makes a parser hang, exhaust memory, panic in a goroutine or exit takes down
one worker, never the program that asked for the text. It is Quarry's
version of Tika's forked parser.

# Why

[extract.Extractor] runs parsers in-process. It answers within its deadline
and turns a parser's panic into [extract.ErrMalformed], but it cannot stop
a goroutine: a parser that loops on a cyclic PDF page tree keeps burning a
CPU after the deadline, one that allocates without bound brings the whole
server down, and a panic in a goroutine the parser started cannot be
recovered at all. ledongthuc/pdf is known to do the first and can do the
second (RELIABILITY.md, section 0.5 and tests T18 to T21). A process can be
killed and its memory bounded; a goroutine cannot.

# How embedders call it

The worker is the program itself, started again with a marker in its
environment. Call [RunWorkerIfChild] first thing in main, before flags or
anything with side effects; in a worker it never returns, otherwise it
returns at once:

	func main() {
		isolate.RunWorkerIfChild(func() (*extract.Extractor, error) {
			// Runs in the worker only. Build the same Extractor as the
			// parent, from settings the pool passes in Config.Env, and log
			// to stderr (the pool forwards it).
			return extract.New(standard.NewRegistry(), extract.Config{
				Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil)),
			})
		})

		ex, err := extract.New(standard.NewRegistry(), extract.Config{})
		if err != nil {
			log.Fatal(err)
		}
		pool, err := isolate.New(isolate.Config{Extractor: ex})
		if err != nil {
			log.Fatal(err) // includes "does the program call isolate.RunWorkerIfChild?"
		}
		defer pool.Close(context.Background())

		doc, err := pool.Extract(ctx, extract.Input{R: f, Size: size}, extract.Options{})
		...
	}

[Pool.Extract] has the semantics of [extract.Extractor.Extract]; the worker
runs a whole Extractor (sniffing, parsing, OCR, summary, chunking), so the
Document is the one the parent would have built, and errors keep their
message and match the same sentinels and [*extract.OptionError]. The Pool
also has the Extractor's Registry, Limits and Sniff (answered by
Config.Extractor in the parent), so a consumer can accept either through an
interface of its own:

	type extractor interface {
		Extract(context.Context, extract.Input, extract.Options) (*extract.Document, error)
		Registry() *extract.Registry
		Limits() extract.Limits
	}

A test binary is its own worker the same way: call RunWorkerIfChild in
TestMain before m.Run.

# What happens to a hostile document

  - Deadline: the worker's Extractor gets a deadline a little before
    Config.Timeout and answers [extract.ErrTimeout] when the parser honours
    its context; a worker that does not answer by Config.Timeout (a parser
    that ignores ctx, a stopped process) has its process group killed with
    SIGKILL: ErrTimeout. Either way the worker is replaced, since a parser
    that ignored its context may still be running in it.
  - Memory: a worker may grow its address space by Config.MemoryLimit
    beyond what it had at start (RLIMIT_AS), with GOMEMLIMIT at 80% of it.
    Past it the Go runtime dies ("out of memory"): ErrMalformed.
  - Death: a worker that dies for any reason (a signal, the memory limit, a
    panic in a goroutine, os.Exit) is reaped and replaced; the document
    fails with ErrMalformed, "the parser process died: exit status 2".
  - Output: a result over Config.MaxOutputBytes is [extract.ErrTooLarge];
    the parent refuses an oversized frame from its header, before reading
    it, so even a compromised parser writing to the socket cannot make the
    parent allocate more.
  - Cancellation: when the caller's ctx ends, the worker is killed and
    Extract returns ctx.Err() (a deadline passing during the parse is
    ErrTimeout, as in-process).
  - Recycling: a worker retires after Config.MaxDocsPerWorker documents,
    bounding what a slow leak can accumulate.
  - Hygiene: workers have no core dumps (RLIMIT_CORE 0), cannot gain
    privileges through exec (no_new_privs), run in their own process group
    (a kill reaches the OCR tools they start), and die with the parent
    (Pdeathsig, set from one long-lived thread so that it cannot fire
    early). Their stdout and stderr go to Config.Logger, at most 200 lines
    of 2 KiB per worker; a parser printing to stdout cannot corrupt the
    protocol.

# Limits and defaults

  - Workers: runtime.GOMAXPROCS(0) processes, started by [New] and kept
    warm. When all are busy Extract waits, until its ctx ends.
  - Timeout: 30s per document ([DefaultTimeout]), from the moment a worker
    takes it; time spent waiting for a worker counts against the caller's
    ctx only.
  - MemoryLimit: 1 GiB ([DefaultMemoryLimit]), at least [MinMemoryLimit].
    A Go process reserves about 1.2 GiB of address space before main
    (go1.26, linux/amd64), which is why the limit is relative to the start
    rather than absolute. Under the race detector the heap gets about a
    third of it (shadow memory).
  - MaxDocsPerWorker: 100 ([DefaultMaxDocsPerWorker]).
  - MaxOutputBytes: 64 MiB ([DefaultMaxOutputBytes]) of encoded Document.
  - StartTimeout: 10s ([DefaultStartTimeout]) for a worker's handshake.

# How the document reaches the worker

The worker reads the document through a file descriptor passed over the
socket (SCM_RIGHTS), reopened read-only through /proc/self/fd, never
through a path. An [*os.File] is passed as it is; a reader that embeds one
(a blob store's handle) is passed when its size and its first and last
4 KiB match the file, so that a wrapper that decrypts or offsets is copied
rather than misread; any other reader is copied, up to 256 KiB into memory
(memfd) and beyond into an unnamed temporary file (O_TMPFILE) in
Config.TempDir, which the kernel removes with its last descriptor, so a
crash of either process leaves no file behind.

The protocol is length-prefixed JSON over a Unix socket pair on the
worker's descriptor 3, versioned: the worker runs /proc/self/exe, the very
binary of the parent even when the file on disk was replaced by an upgrade.

# What it is not

A worker runs as the same user with the same file system access and
inherits the parent's environment: the isolation contains crashes and
resource exhaustion, it is not a sandbox against a parser compromised into
running code. It needs Linux (descriptor passing, O_TMPFILE, pidfd,
Pdeathsig); elsewhere [New] fails with an error wrapping
errors.ErrUnsupported, and callers fall back to an in-process Extractor.
*/
package isolate
