//go:build linux

package isolate

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"golang.org/x/sys/unix"

	"github.com/quarryhq/quarry/extract"
)

// The parent and a worker talk over a Unix stream socket pair: the worker's
// end is its file descriptor 3, so that a parser writing to stdout or
// stderr cannot corrupt the protocol. Every message is a frame: a 4-byte
// big-endian length, then that many bytes of JSON. The worker sends a
// hello once it is ready; then, one at a time, the parent sends a request
// with the document's file descriptor attached (SCM_RIGHTS) and the worker
// answers with one response.

// protocolVersion is the version of the protocol. The parent passes it in
// envWorker and the worker repeats it in its hello, so a worker of another
// build refuses to serve instead of misreading frames.
const protocolVersion = 1

// Environment variables the pool sets for a worker.
const (
	// envWorker marks a worker process; its value is protocolVersion.
	envWorker = "QUARRY_ISOLATE_WORKER"
	// envMemoryLimit is Config.MemoryLimit in bytes.
	envMemoryLimit = "QUARRY_ISOLATE_MEMORY_LIMIT"
	// envMaxOutput is Config.MaxOutputBytes.
	envMaxOutput = "QUARRY_ISOLATE_MAX_OUTPUT"
)

// workerFD is the worker's end of the socket pair, the first of
// exec.Cmd.ExtraFiles.
const workerFD = 3

// Frame size bounds for the small messages. A response is bounded by
// Config.MaxOutputBytes instead.
const (
	maxHelloFrame   = 64 << 10
	maxRequestFrame = 1 << 20
)

// hello is the worker's first frame.
type hello struct {
	Version int `json:"version"`
	PID     int `json:"pid"`
	// Error is set when the worker could not build its Extractor or apply
	// its limits; it exits after sending it.
	Error string `json:"error,omitempty"`
}

// request asks the worker to extract the document whose descriptor comes
// with the frame.
type request struct {
	ID uint64 `json:"id"`
	// Budget is the time left before the parent kills the worker.
	Budget         time.Duration `json:"budget"`
	Size           int64         `json:"size"`
	MediaType      string        `json:"media_type,omitempty"`
	Filename       string        `json:"filename,omitempty"`
	Password       string        `json:"password,omitempty"`
	HeadersFooters bool          `json:"headers_footers,omitempty"`
	Limits         wireLimits    `json:"limits"`
	Options        wireOptions   `json:"options"`
}

// wireLimits is extract.Limits on the wire.
type wireLimits struct {
	MaxChars            int   `json:"max_chars,omitempty"`
	MaxPages            int   `json:"max_pages,omitempty"`
	MaxArchiveEntries   int   `json:"max_archive_entries,omitempty"`
	MaxUnpackedBytes    int64 `json:"max_unpacked_bytes,omitempty"`
	MaxCompressionRatio int64 `json:"max_compression_ratio,omitempty"`
}

func limitsToWire(l extract.Limits) wireLimits {
	return wireLimits{
		MaxChars:            l.MaxChars,
		MaxPages:            l.MaxPages,
		MaxArchiveEntries:   l.MaxArchiveEntries,
		MaxUnpackedBytes:    l.MaxUnpackedBytes,
		MaxCompressionRatio: l.MaxCompressionRatio,
	}
}

func (l wireLimits) extract() extract.Limits {
	return extract.Limits{
		MaxChars:            l.MaxChars,
		MaxPages:            l.MaxPages,
		MaxArchiveEntries:   l.MaxArchiveEntries,
		MaxUnpackedBytes:    l.MaxUnpackedBytes,
		MaxCompressionRatio: l.MaxCompressionRatio,
	}
}

// tighter returns l with each positive field of o that is lower taking its
// place, as the Extractor combines its limits with Input.Limits: a caller
// can tighten limits, never loosen them.
func tighter(l, o extract.Limits) extract.Limits {
	lower := func(cur, v int64) int64 {
		if v > 0 && (cur <= 0 || v < cur) {
			return v
		}
		return cur
	}
	l.MaxChars = int(lower(int64(l.MaxChars), int64(o.MaxChars)))
	l.MaxPages = int(lower(int64(l.MaxPages), int64(o.MaxPages)))
	l.MaxArchiveEntries = int(lower(int64(l.MaxArchiveEntries), int64(o.MaxArchiveEntries)))
	l.MaxUnpackedBytes = lower(l.MaxUnpackedBytes, o.MaxUnpackedBytes)
	l.MaxCompressionRatio = lower(l.MaxCompressionRatio, o.MaxCompressionRatio)
	return l
}

// wireOptions is extract.Options on the wire (Options has no JSON tags).
type wireOptions struct {
	Mode             extract.Mode          `json:"mode,omitempty"`
	Password         string                `json:"password,omitempty"`
	Pages            string                `json:"pages,omitempty"`
	MaxChars         int                   `json:"max_chars,omitempty"`
	HeadersFooters   bool                  `json:"headers_footers,omitempty"`
	SummarySentences int                   `json:"summary_sentences,omitempty"`
	Chunking         *extract.ChunkOptions `json:"chunking,omitempty"`
}

func optionsToWire(o extract.Options) wireOptions {
	return wireOptions{
		Mode:             o.Mode,
		Password:         o.Password,
		Pages:            o.Pages,
		MaxChars:         o.MaxChars,
		HeadersFooters:   o.HeadersFooters,
		SummarySentences: o.SummarySentences,
		Chunking:         o.Chunking,
	}
}

func (o wireOptions) extract() extract.Options {
	return extract.Options{
		Mode:             o.Mode,
		Password:         o.Password,
		Pages:            o.Pages,
		MaxChars:         o.MaxChars,
		HeadersFooters:   o.HeadersFooters,
		SummarySentences: o.SummarySentences,
		Chunking:         o.Chunking,
	}
}

// response answers a request: a Document or an error.
type response struct {
	ID       uint64            `json:"id"`
	Document *extract.Document `json:"document,omitempty"`
	Error    *wireError        `json:"error,omitempty"`
}

// wireError carries an error's message and identity: the sentinels it
// wraps and, for an *extract.OptionError, its field and reason.
type wireError struct {
	Message string   `json:"message"`
	Kinds   []string `json:"kinds,omitempty"`
	Option  bool     `json:"option,omitempty"`
	Field   string   `json:"field,omitempty"`
	Reason  string   `json:"reason,omitempty"`
}

// Error kinds. kindOutputTooLarge is ErrTooLarge raised by the worker's
// own output cap rather than by a parser.
const (
	kindOutputTooLarge = "output_too_large"
	kindTimeout        = "timeout"
)

var sentinels = []struct {
	kind string
	err  error
}{
	{"unsupported_format", extract.ErrUnsupportedFormat},
	{"malformed", extract.ErrMalformed},
	{"encrypted", extract.ErrEncrypted},
	{"too_large", extract.ErrTooLarge},
	{kindTimeout, extract.ErrTimeout},
}

// encodeError describes err for the parent.
func encodeError(err error) *wireError {
	we := &wireError{Message: err.Error()}
	if oe, ok := errors.AsType[*extract.OptionError](err); ok {
		we.Option, we.Field, we.Reason = true, oe.Field, oe.Reason
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			we.Kinds = append(we.Kinds, s.kind)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, extract.ErrTimeout) {
		we.Kinds = append(we.Kinds, kindTimeout)
	}
	return we
}

// has reports whether the error carries kind.
func (we *wireError) has(kind string) bool {
	for _, k := range we.Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// decode rebuilds the error in the parent: same message, and errors.Is and
// errors.As find the same sentinels and *extract.OptionError.
func (we *wireError) decode() error {
	var errs []error
	if we.Option {
		errs = append(errs, &extract.OptionError{Field: we.Field, Reason: we.Reason})
	}
	for _, k := range we.Kinds {
		if k == kindOutputTooLarge {
			errs = append(errs, extract.ErrTooLarge)
			continue
		}
		for _, s := range sentinels {
			if s.kind == k {
				errs = append(errs, s.err)
			}
		}
	}
	return &remoteError{msg: we.Message, errs: errs}
}

// remoteError is an error returned by a worker.
type remoteError struct {
	msg  string
	errs []error
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.errs }

// protocolError reports a frame that does not decode or does not answer
// the request: a parser that wrote to the protocol socket, or a bug.
type protocolError struct{ err error }

func (e *protocolError) Error() string { return "protocol error: " + e.err.Error() }
func (e *protocolError) Unwrap() error { return e.err }

// frameTooLargeError reports a frame over the reader's bound.
type frameTooLargeError struct{ size, max int64 }

func (e *frameTooLargeError) Error() string {
	return fmt.Sprintf("frame of %d bytes over the %d-byte cap", e.size, e.max)
}

// encodeFrame returns v as a frame.
func encodeFrame(v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > MaxOutputBytesLimit {
		return nil, fmt.Errorf("frame of %d bytes too large", len(body))
	}
	frame := make([]byte, 4, 4+len(body))
	binary.BigEndian.PutUint32(frame, uint32(len(body)))
	return append(frame, body...), nil
}

// writeFrame writes body as a frame, without copying it.
func writeFrame(w io.Writer, body []byte) error {
	if int64(len(body)) > MaxOutputBytesLimit {
		return fmt.Errorf("frame of %d bytes too large", len(body))
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(body)))
	bufs := net.Buffers{hdr[:], body}
	_, err := bufs.WriteTo(w)
	return err
}

// readFrame reads one frame's body of at most maxSize bytes. It refuses a
// longer frame before reading its body.
func readFrame(r io.Reader, maxSize int64) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int64(binary.BigEndian.Uint32(hdr[:]))
	if n > maxSize {
		return nil, &frameTooLargeError{size: n, max: maxSize}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return body, nil
}

// sendRequest writes req with fd attached to the frame's first byte.
func sendRequest(c *net.UnixConn, req *request, fd int) error {
	frame, err := encodeFrame(req)
	if err != nil {
		return err
	}
	n, _, err := c.WriteMsgUnix(frame, unix.UnixRights(fd), nil)
	if err != nil {
		return err
	}
	if n < len(frame) { // the descriptor went with the first part
		_, err = c.Write(frame[n:])
	}
	return err
}

// recvRequest reads one request frame and the descriptors that came with
// it. The caller owns (and must close) the descriptors, even on error.
func recvRequest(c *net.UnixConn) (*request, []int, error) {
	var fds []int
	oob := make([]byte, unix.CmsgSpace(4*4))
	readFull := func(p []byte) error {
		for off := 0; off < len(p); {
			n, oobn, flags, _, err := c.ReadMsgUnix(p[off:], oob)
			if oobn > 0 {
				got, perr := parseRights(oob[:oobn])
				fds = append(fds, got...)
				if perr != nil {
					return perr
				}
			}
			if flags&unix.MSG_CTRUNC != 0 {
				return errors.New("control message truncated")
			}
			off += n
			if err != nil {
				if off > 0 && errors.Is(err, io.EOF) {
					return io.ErrUnexpectedEOF
				}
				return err
			}
			if n == 0 {
				if off > 0 {
					return io.ErrUnexpectedEOF
				}
				return io.EOF
			}
		}
		return nil
	}
	var hdr [4]byte
	if err := readFull(hdr[:]); err != nil {
		return nil, fds, err
	}
	n := int64(binary.BigEndian.Uint32(hdr[:]))
	if n > maxRequestFrame {
		return nil, fds, &frameTooLargeError{size: n, max: maxRequestFrame}
	}
	body := make([]byte, n)
	if err := readFull(body); err != nil {
		return nil, fds, err
	}
	req := new(request)
	if err := json.Unmarshal(body, req); err != nil {
		return nil, fds, fmt.Errorf("decode request: %w", err)
	}
	return req, fds, nil
}

// parseRights returns the descriptors of SCM_RIGHTS messages in oob.
func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue // not SCM_RIGHTS
		}
		fds = append(fds, got...)
	}
	return fds, nil
}
