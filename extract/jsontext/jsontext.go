package jsontext

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/quarryhq/quarry/internal/runes"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/txt"
	"golang.org/x/text/unicode/norm"
)

// Version is the parser version reported as metadata.parser_version.
const Version = "1"

// MaxDepth is the deepest nesting of objects and arrays the parser
// accepts (RELIABILITY.md, XML/JSON row).
const MaxDepth = 10000

// maxTitle caps Metadata.Title, in code points.
const maxTitle = 500

// Parser reads JSON as text. The zero value is ready to use; it holds no
// state and is safe for concurrent use.
type Parser struct{}

// New returns a JSON parser.
func New() *Parser { return &Parser{} }

// MediaTypes reports the media types the parser reads.
func (*Parser) MediaTypes() []string {
	return []string{"application/json", "application/ld+json", "application/x-ndjson"}
}

// Version reports the parser version.
func (*Parser) Version() string { return Version }

// frame is one open object or array.
type frame struct {
	object  bool
	key     string // the pending key of an object
	haveKey bool
	index   int // the next index of an array
	pathLen int // len(path) before this container's own segment
}

// walker turns the token stream into lines.
type walker struct {
	b        strings.Builder
	chars    int
	maxChars int
	path     []byte
	stack    []frame
	title    string
	values   int // top-level values seen
}

// Parse extracts the text of a JSON document or stream.
func (*Parser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	if in.R == nil {
		return nil, fmt.Errorf("jsontext: %w: no input", extract.ErrMalformed)
	}
	maxChars := in.Limits.MaxChars
	if maxChars <= 0 {
		maxChars = extract.DefaultLimits().MaxChars
	}
	r, cs, err := txt.NewReader(ctx, in.R, in.Size, in.MediaType)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(r)
	dec.UseNumber()
	w := &walker{maxChars: maxChars}
	for w.chars <= maxChars {
		tok, err := dec.Token()
		if err == io.EOF {
			if len(w.stack) > 0 {
				return nil, fmt.Errorf("jsontext: %w: unexpected end of input", extract.ErrMalformed)
			}
			break
		}
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return nil, cerr
			}
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, err
			}
			return nil, fmt.Errorf("jsontext: %w: %v", extract.ErrMalformed, err)
		}
		if err := w.token(tok); err != nil {
			return nil, err
		}
	}
	if w.values == 0 {
		return nil, fmt.Errorf("jsontext: %w: no JSON value", extract.ErrMalformed)
	}
	return &extract.Document{
		Text:     norm.NFC.String(w.b.String()),
		Metadata: extract.Metadata{Title: w.title, Charset: cs},
	}, nil
}

// token handles one token of the stream.
func (w *walker) token(tok json.Token) error {
	if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
		top := w.stack[len(w.stack)-1]
		w.stack = w.stack[:len(w.stack)-1]
		w.path = w.path[:top.pathLen]
		return nil
	}
	// An object key.
	if n := len(w.stack); n > 0 && w.stack[n-1].object && !w.stack[n-1].haveKey {
		s, _ := tok.(string)
		w.stack[n-1].key, w.stack[n-1].haveKey = s, true
		return nil
	}
	// A value: name it.
	start := len(w.path)
	w.push()
	if d, ok := tok.(json.Delim); ok { // '{' or '['
		if len(w.stack) >= MaxDepth {
			return fmt.Errorf("jsontext: %w: nesting deeper than %d levels", extract.ErrMalformed, MaxDepth)
		}
		w.stack = append(w.stack, frame{object: d == '{', pathLen: start})
		return nil
	}
	var v string
	switch t := tok.(type) {
	case string:
		v = t
		if len(w.stack) == 1 && w.values == 1 && w.stack[0].object && string(w.path) == "title" && w.title == "" {
			w.title = runes.Cut(strings.Join(strings.Fields(t), " "), maxTitle)
		}
	case json.Number:
		v = t.String()
	case bool:
		v = "false"
		if t {
			v = "true"
		}
	case float64: // not with UseNumber; kept for safety
		v = fmt.Sprint(t)
	}
	if v != "" {
		if len(w.path) > 0 {
			w.write(string(w.path))
			w.write(": ")
		}
		w.write(v)
		w.write("\n")
	}
	w.path = w.path[:start]
	return nil
}

// push appends the path segment of the value about to start and, at the
// top level, counts the value.
func (w *walker) push() {
	n := len(w.stack)
	if n == 0 {
		if w.values > 0 && w.b.Len() > 0 && !strings.HasSuffix(w.b.String(), "\n\n") {
			w.write("\n")
		}
		w.values++
		return
	}
	f := &w.stack[n-1]
	if f.object {
		if len(w.path) > 0 {
			w.path = append(w.path, '.')
		}
		w.path = appendKey(w.path, f.key)
		f.key, f.haveKey = "", false
		return
	}
	w.path = append(w.path, '[')
	w.path = fmt.Appendf(w.path, "%d", f.index)
	w.path = append(w.path, ']')
	f.index++
}

func (w *walker) write(s string) {
	w.b.WriteString(s)
	w.chars += utf8.RuneCountInString(s)
}

// appendKey appends key with its control characters turned into spaces.
func appendKey(b []byte, key string) []byte {
	for _, r := range key {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			r = ' '
		}
		b = utf8.AppendRune(b, r)
	}
	return b
}

var (
	_ extract.Parser    = (*Parser)(nil)
	_ extract.Versioner = (*Parser)(nil)
)
