package xmltext

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"github.com/quarryhq/quarry/internal/runes"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/txt"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/unicode/norm"
)

// Version is the parser version reported as metadata.parser_version.
const Version = "1"

// MaxDepth is the deepest element nesting the parser accepts
// (RELIABILITY.md, XML/JSON row).
const MaxDepth = 10000

// maxTitle caps Metadata.Title, in code points.
const maxTitle = 500

// Parser reads XML as text. The zero value is ready to use; it holds no
// state and is safe for concurrent use.
type Parser struct{}

// New returns an XML parser.
func New() *Parser { return &Parser{} }

// MediaTypes reports the media types the parser reads.
func (*Parser) MediaTypes() []string { return []string{"application/xml", "text/xml"} }

// Version reports the parser version.
func (*Parser) Version() string { return Version }

// declLen is how much of the input is searched for the XML declaration.
const declLen = 1024

var encodingAttr = regexp.MustCompile(`^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']`)

// Parse extracts the text of an XML document.
func (*Parser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	if in.R == nil {
		return nil, fmt.Errorf("xmltext: %w: no input", extract.ErrMalformed)
	}
	maxChars := in.Limits.MaxChars
	if maxChars <= 0 {
		maxChars = extract.DefaultLimits().MaxChars
	}
	r, cs, err := open(ctx, in)
	if err != nil {
		return nil, err
	}
	dec := xml.NewDecoder(r)
	dec.Strict = true
	if cs != "" {
		// Already UTF-8: whatever the declaration says.
		dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	} else {
		dec.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
			cs = strings.ToLower(label)
			return charset.NewReaderLabel(label, r)
		}
	}
	w := &walker{maxChars: maxChars}
	for w.chars <= maxChars {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return nil, cerr
			}
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, err
			}
			return nil, fmt.Errorf("xmltext: %w: %v", extract.ErrMalformed, err)
		}
		if err := w.token(tok); err != nil {
			return nil, err
		}
	}
	if w.chars <= maxChars && !w.root {
		return nil, fmt.Errorf("xmltext: %w: no root element", extract.ErrMalformed)
	}
	text := w.b.String()
	if text != "" && !strings.HasSuffix(text, "\n") && w.chars <= maxChars {
		text += "\n"
	}
	if cs == "" {
		cs = "utf-8"
	}
	return &extract.Document{
		Text:     norm.NFC.String(text),
		Metadata: extract.Metadata{Title: norm.NFC.String(w.title), Charset: cs},
	}, nil
}

// open returns the stream the decoder reads and, when the stream is
// already decoded to UTF-8, the charset it was decoded from; "" means the
// raw bytes, to be decoded as the XML declaration says.
func open(ctx context.Context, in extract.Input) (io.Reader, string, error) {
	if in.Size < 0 {
		return nil, "", fmt.Errorf("xmltext: %w: negative size", extract.ErrMalformed)
	}
	head := make([]byte, min(in.Size, declLen))
	n, err := in.R.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return nil, "", fmt.Errorf("xmltext: %w: %v", extract.ErrMalformed, err)
	}
	head = head[:n]
	if !hasBOM(head) {
		if m := encodingAttr.FindSubmatch(head); m != nil {
			label := strings.ToLower(string(m[1]))
			if e, _ := charset.Lookup(label); e != nil && !strings.HasPrefix(label, "utf-") && label != "utf8" {
				return extract.ContextReader(ctx, in.Reader()), "", nil
			}
		}
	}
	r, cs, err := txt.NewReader(ctx, in.R, in.Size, in.MediaType)
	if err != nil {
		return nil, "", err
	}
	return r, cs, nil
}

func hasBOM(head []byte) bool {
	return bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}) ||
		bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF})
}

// walker turns the token stream into lines.
type walker struct {
	b        strings.Builder
	chars    int
	maxChars int

	// direct[i] reports that the open element at depth i+1 has text of
	// its own (not only in its children).
	direct []bool
	root   bool

	lineText   bool // the current line has text
	space      bool // white space is pending before the next text
	brk        bool // an element with text ended: a line break is pending
	brkParent  int  // the depth of that element's parent
	titleDepth int  // depth of the title element being read, 0 when none
	title      string
	titleDone  bool
	tb         strings.Builder // the title's text
}

func (w *walker) token(tok xml.Token) error {
	switch t := tok.(type) {
	case xml.StartElement:
		if len(w.direct) >= MaxDepth {
			return fmt.Errorf("xmltext: %w: elements nested deeper than %d levels", extract.ErrMalformed, MaxDepth)
		}
		w.direct = append(w.direct, false)
		w.root = true
		if !w.titleDone && w.titleDepth == 0 && t.Name.Local == "title" {
			w.titleDepth = len(w.direct)
		}
	case xml.EndElement:
		depth := len(w.direct)
		if depth == 0 {
			return nil // the decoder reports the mismatch
		}
		w.direct = w.direct[:depth-1]
		if w.lineText {
			w.brk, w.brkParent = true, depth-1
		}
		if w.titleDepth == depth {
			w.title = runes.Cut(strings.Join(strings.Fields(w.tb.String()), " "), maxTitle)
			w.titleDepth, w.titleDone = 0, true
			w.tb.Reset()
		}
	case xml.CharData:
		w.text(t)
	}
	return nil
}

// text adds character data, its white space collapsed.
func (w *walker) text(data []byte) {
	depth := len(w.direct)
	if depth == 0 {
		return // white space around the root
	}
	if w.titleDepth > 0 && w.tb.Len() < 4*maxTitle {
		w.tb.Write(data)
		w.tb.WriteByte(' ')
	}
	for len(data) > 0 {
		i := bytes.IndexFunc(data, func(r rune) bool { return !isSpace(r) })
		if i != 0 {
			w.space = true
			if i < 0 {
				return
			}
			data = data[i:]
		}
		j := bytes.IndexFunc(data, isSpace)
		if j < 0 {
			j = len(data)
		}
		w.word(data[:j], depth)
		data = data[j:]
	}
}

func (w *walker) word(word []byte, depth int) {
	inline := depth == w.brkParent || w.brkParent > 0 && w.direct[w.brkParent-1]
	switch {
	case w.b.Len() == 0:
	case w.brk && !inline:
		w.b.WriteByte('\n')
		w.chars++
		w.lineText = false
	case w.space:
		w.b.WriteByte(' ')
		w.chars++
	}
	w.brk, w.space = false, false
	w.b.Write(word)
	w.chars += utf8.RuneCount(word)
	w.lineText = true
	w.direct[depth-1] = true
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\u00A0', '\u0085', '\u2028', '\u2029':
		return true
	}
	return false
}

var (
	_ extract.Parser    = (*Parser)(nil)
	_ extract.Versioner = (*Parser)(nil)
)
