//go:build linux

package isolate

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract"
)

// fieldNames lists the exported fields of a struct type.
func fieldNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if f.IsExported() {
			names = append(names, f.Name)
		}
	}
	slices.Sort(names)
	return names
}

// The wire structs carry every field of what they stand for: a field added
// to extract.Options, Limits or Input fails here until the protocol carries
// it.
func TestWireCoversEveryField(t *testing.T) {
	for _, tc := range []struct {
		wire, of reflect.Type
		skip     []string
	}{
		{reflect.TypeFor[wireOptions](), reflect.TypeFor[extract.Options](), nil},
		{reflect.TypeFor[wireLimits](), reflect.TypeFor[extract.Limits](), nil},
		// R travels as a descriptor; ID and Budget and Options are the
		// protocol's own. Companion stays in the server: only
		// ExternalTool parsers (run in process) use one.
		{reflect.TypeFor[request](), reflect.TypeFor[extract.Input](), []string{"R", "ID", "Budget", "Options", "Companion"}},
	} {
		want := slices.DeleteFunc(fieldNames(tc.of), func(n string) bool { return slices.Contains(tc.skip, n) })
		got := slices.DeleteFunc(fieldNames(tc.wire), func(n string) bool { return slices.Contains(tc.skip, n) })
		if !slices.Equal(got, want) {
			t.Errorf("%v has fields %v, %v has %v", tc.wire, got, tc.of, want)
		}
	}
	opts := extract.Options{Mode: extract.ModeSummary, Password: "pw", Pages: "1-2", MaxChars: 7, HeadersFooters: true, SummarySentences: 3,
		Chunking: &extract.ChunkOptions{Strategy: "fixed", MaxChars: 10, MaxTokens: 5, Overlap: 1}}
	var back wireOptions
	roundTrip(t, optionsToWire(opts), &back)
	if got := back.extract(); !reflect.DeepEqual(got, opts) {
		t.Errorf("options %+v, want %+v", got, opts)
	}
	lim := extract.Limits{MaxChars: 1, MaxPages: 2, MaxArchiveEntries: 3, MaxUnpackedBytes: 4, MaxCompressionRatio: 5}
	var backLim wireLimits
	roundTrip(t, limitsToWire(lim), &backLim)
	if backLim.extract() != lim {
		t.Errorf("limits %+v, want %+v", backLim.extract(), lim)
	}
}

func roundTrip(t *testing.T, v, into any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatal(err)
	}
}

// checkJSONTags fails for an exported field, anywhere in t, without a JSON
// tag or tagged "-": it would not reach the parent.
func checkJSONTags(tb testing.TB, t reflect.Type, path string, seen map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] || t == reflect.TypeFor[time.Time]() {
		return
	}
	seen[t] = true
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		if tag, ok := f.Tag.Lookup("json"); !ok || strings.Split(tag, ",")[0] == "-" {
			tb.Errorf("%s.%s has no JSON name", path, f.Name)
		}
		checkJSONTags(tb, f.Type, path+"."+f.Name, seen)
	}
}

// A Document crosses the process boundary whole: every field, times and
// warnings included.
func TestDocumentRoundTrip(t *testing.T) {
	checkJSONTags(t, reflect.TypeFor[extract.Document](), "Document", map[reflect.Type]bool{})
	created := time.Date(2024, 2, 29, 13, 4, 5, 123456789, time.UTC)
	modified := time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)
	doc := &extract.Document{
		Text:  "Überschrift\n\nzweite Seite",
		Pages: []extract.Page{{Number: 1, Text: "Überschrift", Start: 0, End: 11}, {Number: 2, Text: "zweite Seite", Start: 13, End: 25}},
		Metadata: extract.Metadata{Title: "T", Author: "A", Created: &created, Modified: &modified, PageCount: 9,
			Language: "de", Charset: "utf-8", Parser: "pdf", ParserVersion: "1.2"},
		Warnings: []extract.Warning{{Code: extract.WarnTruncated, Message: "cut", Page: 2}},
		Headings: []extract.Heading{{Level: 1, Text: "Überschrift", Page: 1, Start: 0}},
		Chunks:   []extract.Chunk{{ID: "c1", Text: "zweite", Start: 13, End: 19, PageStart: 2, PageEnd: 2, HeadingPath: []string{"Überschrift"}}},
	}
	frame, err := encodeFrame(&response{ID: 7, Document: doc})
	if err != nil {
		t.Fatal(err)
	}
	body, err := readFrame(bytes.NewReader(frame), int64(len(frame)))
	if err != nil {
		t.Fatal(err)
	}
	var resp response
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(resp.Document, doc) {
		t.Errorf("got %+v\nwant %+v", resp.Document, doc)
	}
}

func TestErrorRoundTrip(t *testing.T) {
	optErr := &extract.OptionError{Field: "pages", Reason: "want numbers"}
	for _, err := range []error{
		fmt.Errorf("pdf: %w: bad xref", extract.ErrMalformed),
		fmt.Errorf("%w and %w", extract.ErrEncrypted, extract.ErrTooLarge),
		fmt.Errorf("%w after 30s", extract.ErrTimeout),
		fmt.Errorf("%w: no parser reads x/y", extract.ErrUnsupportedFormat),
		optErr,
		fmt.Errorf("wrapped: %w", optErr),
		errors.New("plain"),
	} {
		var we wireError
		roundTrip(t, encodeError(err), &we)
		got := we.decode()
		if got.Error() != err.Error() {
			t.Errorf("message %q, want %q", got, err)
		}
		for _, s := range sentinels {
			if errors.Is(got, s.err) != errors.Is(err, s.err) {
				t.Errorf("%v: errors.Is(%v) = %v", err, s.err, errors.Is(got, s.err))
			}
		}
		if oe, ok := errors.AsType[*extract.OptionError](got); ok != errors.As(err, new(*extract.OptionError)) || ok && *oe != *optErr {
			t.Errorf("%v: OptionError %v %v", err, oe, ok)
		}
	}
	if err := encodeError(context.DeadlineExceeded).decode(); !errors.Is(err, extract.ErrTimeout) {
		t.Errorf("a deadline is ErrTimeout: %v", err)
	}
}

// A frame over the cap is refused from its header, before its body is
// read (there is none here).
func TestReadFrameCap(t *testing.T) {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], 2<<20)
	_, err := readFrame(bytes.NewReader(hdr[:]), 1<<20)
	if e, ok := errors.AsType[*frameTooLargeError](err); !ok || e.size != 2<<20 || e.max != 1<<20 {
		t.Errorf("readFrame: %v", err)
	}
	binary.BigEndian.PutUint32(hdr[:], 10)
	if _, err := readFrame(bytes.NewReader(append(hdr[:], "short"...)), 1<<20); err == nil {
		t.Error("a short frame was accepted")
	}
}

// upper embeds a file but reads it upper-cased.
type upper struct{ *os.File }

func (u upper) ReadAt(p []byte, off int64) (int, error) {
	n, err := u.File.ReadAt(p, off)
	copy(p, strings.ToUpper(string(p[:n])))
	return n, err
}

// The worker gets the caller's own file where that is safe, read-only, and
// a copy otherwise; a copy leaves no file behind.
func TestInputFile(t *testing.T) {
	dir := t.TempDir()
	spoolDir := t.TempDir()
	p := &Pool{cfg: Config{TempDir: spoolDir}}
	path := dir + "/doc.txt"
	content := strings.Repeat("some lower-case words\n", 1000)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inode := func(f *os.File) uint64 {
		st, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		return st.Sys().(*syscall.Stat_t).Ino
	}
	size := int64(len(content))
	big := strings.Repeat("a larger document\n", 100_000)
	type blob struct{ *os.File }
	for _, tc := range []struct {
		name     string
		in       extract.Input
		sameFile bool
		want     string
		spooled  string // where a copy goes: the prefix of its /proc/self/fd link
	}{
		{"os.File", extract.Input{R: f, Size: size}, true, content, ""},
		{"os.File, shorter Size", extract.Input{R: f, Size: 10}, true, content, ""},
		{"wrapper", extract.Input{R: blob{f}, Size: size}, true, content, ""},
		{"wrapper, shorter Size", extract.Input{R: blob{f}, Size: 10}, false, content[:10], "/memfd:"},
		{"transforming wrapper", extract.Input{R: upper{f}, Size: size}, false, strings.ToUpper(content), "/memfd:"},
		{"reader", extract.Input{R: strings.NewReader(content), Size: size}, false, content, "/memfd:"},
		{"large reader", extract.Input{R: strings.NewReader(big), Size: int64(len(big))}, false, big, spoolDir + "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.inputFile(context.Background(), tc.in)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Close()
			if same := inode(got) == inode(f); same != tc.sameFile {
				t.Errorf("same file: %v, want %v", same, tc.sameFile)
			}
			if link, _ := os.Readlink(fmt.Sprint("/proc/self/fd/", got.Fd())); tc.spooled != "" && !strings.HasPrefix(link, tc.spooled) {
				t.Errorf("copied to %s, want %s...", link, tc.spooled)
			}
			b, err := os.ReadFile("/proc/self/fd/" + fmt.Sprint(got.Fd()))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("content %.40q..., want %.40q...", b, tc.want)
			}
			if _, err := got.WriteAt([]byte("x"), 0); err == nil {
				t.Error("the worker's descriptor is writable")
			}
			if entries, _ := os.ReadDir(spoolDir); len(entries) > 0 {
				t.Errorf("spool files visible: %v", entries)
			}
		})
	}
	if _, err := p.inputFile(context.Background(), extract.Input{R: strings.NewReader("abc"), Size: 10}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a reader shorter than Size: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.inputFile(ctx, extract.Input{R: strings.NewReader(content), Size: size}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled spool: %v", err)
	}
	// Where O_TMPFILE is missing, the spool file is named and removed at
	// once.
	tf, err := tempFile(spoolDir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	if _, err := tf.WriteString("spooled"); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(spoolDir); len(entries) > 0 {
		t.Errorf("fallback spool file visible: %v", entries)
	}
}

// recordHandler keeps log messages with their attributes.
type recordHandler struct{ lines *[]string }

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h recordHandler) WithGroup(string) slog.Handler            { return h }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	*h.lines = append(*h.lines, b.String())
	return nil
}

func TestLogSink(t *testing.T) {
	var lines []string
	s := &logSink{log: slog.New(recordHandler{&lines})}
	s.setPID(42)
	// Written in odd pieces, as a pipe delivers them.
	var out bytes.Buffer
	out.WriteString(strings.Repeat("x", 5000) + "\n")
	out.WriteString("fatal error: runtime: out of memory\n")
	for i := range 250 {
		fmt.Fprintf(&out, "line %d\n", i)
	}
	out.WriteString("unterminated")
	for b := out.Bytes(); len(b) > 0; {
		n := min(len(b), 777)
		if _, err := s.Write(b[:n]); err != nil {
			t.Fatal(err)
		}
		b = b[n:]
	}
	s.flush()
	if !s.outOfMemory() {
		t.Error("out of memory not noticed")
	}
	if len(lines) != maxLogLines+1 {
		t.Fatalf("%d records, want %d", len(lines), maxLogLines+1)
	}
	if want := "isolate: worker output pid=42 line=" + strings.Repeat("x", maxLogLine) + " truncated=true"; lines[0] != want {
		t.Errorf("first record %.80q...", lines[0])
	}
	if want := "isolate: worker output dropped pid=42 lines=53"; lines[maxLogLines] != want {
		t.Errorf("last record %q, want %q", lines[maxLogLines], want)
	}
}
