package markdown

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/txt"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
	xhtml "golang.org/x/net/html"
)

// Version is the parser version reported as metadata.parser_version.
const Version = "1"

// Parser reads Markdown. It holds no per-document state and is safe for
// concurrent use.
type Parser struct {
	md goldmark.Markdown
}

// New returns a Markdown parser.
func New() *Parser {
	return &Parser{md: goldmark.New(goldmark.WithExtensions(
		extension.Table, extension.Strikethrough, extension.Linkify, extension.TaskList,
	))}
}

// MediaTypes reports the media types the parser reads.
func (*Parser) MediaTypes() []string { return []string{"text/markdown", "text/x-markdown"} }

// Version reports the parser version.
func (*Parser) Version() string { return Version }

// Parse extracts the text of a Markdown document.
func (p *Parser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	if in.R == nil {
		return nil, fmt.Errorf("markdown: %w: no input", extract.ErrMalformed)
	}
	maxChars := in.Limits.MaxChars
	if maxChars <= 0 {
		maxChars = extract.DefaultLimits().MaxChars
	}
	// Markup takes room: read twice the output cap of source.
	srcCap := min(2*maxChars, 1<<30)
	d, err := txt.Decode(ctx, in.R, in.Size, in.MediaType, srcCap)
	if err != nil {
		return nil, err
	}
	srcCut := utf8.RuneCountInString(d.Text) > srcCap
	src := []byte(d.Text)
	md := p.md
	if md == nil {
		md = New().md
	}
	root := md.Parser().Parse(text.NewReader(src))
	w := &walker{ctx: ctx, src: src}
	if err := ast.Walk(root, w.visit); err != nil {
		return nil, err
	}
	doc := &extract.Document{
		Text:     w.b.String(),
		Metadata: extract.Metadata{Title: w.title, Charset: d.Charset},
		Headings: w.placedHeadings(),
	}
	if d.Invalid {
		doc.Warnings = append(doc.Warnings, extract.Warning{Code: extract.WarnInvalidUTF8,
			Message: "invalid " + d.Charset + " sequences were replaced with U+FFFD"})
	}
	if srcCut && utf8.RuneCountInString(doc.Text) <= maxChars {
		doc.Warnings = append(doc.Warnings, extract.Warning{Code: extract.WarnTruncated,
			Message: fmt.Sprintf("the source was cut at %d characters", srcCap)})
	}
	return doc, nil
}

// walker turns the syntax tree into text.
type walker struct {
	ctx     context.Context
	src     []byte
	b       strings.Builder
	pending int // line breaks owed before the next text
	nodes   int
	title   string
	h1Start int // offset in b of the first level-1 heading

	headLevel int // level of the heading being written, 0 outside one
	headStart int // offset in b where its text starts, -1 before any
	headings  []heading
}

// heading is a heading found in the text: its level and its bytes in b.
type heading struct {
	level      int
	start, end int
}

// brk asks for at least n line breaks before the next text.
func (w *walker) brk(n int) { w.pending = max(w.pending, n) }

// flush writes the line breaks owed, none at the start of the text.
func (w *walker) flush() {
	if w.pending > 0 && w.b.Len() > 0 {
		w.b.WriteString(strings.Repeat("\n", w.pending))
	}
	w.pending = 0
}

func (w *walker) write(s string) {
	if s == "" {
		return
	}
	w.flush()
	if w.headLevel > 0 && w.headStart < 0 {
		w.headStart = w.b.Len()
	}
	w.b.WriteString(s)
}

// placedHeadings returns the headings of the text with code point offsets.
func (w *walker) placedHeadings() []extract.Heading {
	text := w.b.String()
	out := make([]extract.Heading, 0, len(w.headings))
	pos, runes := 0, 0
	for _, h := range w.headings {
		runes += utf8.RuneCountInString(text[pos:h.start])
		pos = h.start
		out = append(out, extract.Heading{Level: h.level, Text: text[h.start:h.end], Page: 1, Start: runes})
	}
	return out
}

func (w *walker) lines(n ast.Node) {
	ls := n.Lines()
	for i := 0; i < ls.Len(); i++ {
		seg := ls.At(i)
		w.write(strings.TrimRight(string(seg.Value(w.src)), "\r\n"))
		w.brk(1)
	}
}

func inListItem(n ast.Node) bool {
	for p := n.Parent(); p != nil; p = p.Parent() {
		switch p.Kind() {
		case ast.KindListItem:
			return true
		case ast.KindBlockquote:
			return false
		}
	}
	return false
}

func (w *walker) visit(n ast.Node, entering bool) (ast.WalkStatus, error) {
	if w.nodes++; w.nodes%1024 == 0 {
		if err := w.ctx.Err(); err != nil {
			return ast.WalkStop, err
		}
	}
	switch n := n.(type) {
	case *ast.Heading:
		w.brk(2)
		if entering {
			w.headLevel, w.headStart = n.Level, -1
		} else {
			if w.headStart >= 0 {
				text := w.b.String()[w.headStart:]
				trimmed := strings.TrimLeftFunc(text, unicode.IsSpace)
				start := w.headStart + len(text) - len(trimmed)
				if end := start + len(strings.TrimRightFunc(trimmed, unicode.IsSpace)); end > start {
					w.headings = append(w.headings, heading{level: n.Level, start: start, end: end})
				}
			}
			w.headLevel = 0
		}
		if n.Level == 1 && w.title == "" {
			if entering {
				w.flush()
				w.h1Start = w.b.Len()
			} else {
				w.title = strings.Join(strings.Fields(w.b.String()[w.h1Start:]), " ")
			}
		}
	case *ast.Paragraph, *ast.TextBlock:
		if inListItem(n) {
			w.brk(1)
		} else {
			w.brk(2)
		}
	case *ast.List:
		if inListItem(n) {
			w.brk(1)
		} else {
			w.brk(2)
		}
	case *ast.Blockquote, *ast.ThematicBreak, *east.Table:
		w.brk(2)
	case *ast.ListItem, *east.TableRow, *east.TableHeader:
		w.brk(1)
	case *east.TableCell:
		if entering && n.PreviousSibling() != nil {
			w.write("\t")
		}
	case *ast.CodeBlock, *ast.FencedCodeBlock:
		if entering {
			w.brk(2)
			w.lines(n)
			w.brk(2)
		}
		return ast.WalkSkipChildren, nil
	case *ast.HTMLBlock:
		if entering {
			w.brk(2)
			var raw bytes.Buffer
			ls := n.Lines()
			for i := 0; i < ls.Len(); i++ {
				seg := ls.At(i)
				raw.Write(seg.Value(w.src))
			}
			if n.HasClosure() {
				raw.Write(n.ClosureLine.Value(w.src))
			}
			w.write(htmlText(raw.Bytes()))
			w.brk(2)
		}
		return ast.WalkSkipChildren, nil
	case *ast.Text:
		if entering {
			v := n.Value(w.src)
			if !n.IsRaw() && !isCode(n) {
				v = util.ResolveEntityNames(util.ResolveNumericReferences(util.UnescapePunctuations(v)))
			}
			w.write(string(v))
			switch {
			case n.HardLineBreak():
				w.brk(1)
			case n.SoftLineBreak():
				w.write(" ")
			}
		}
	case *ast.String:
		if entering {
			w.write(string(n.Value))
		}
	case *ast.AutoLink:
		if entering {
			w.write(string(n.Label(w.src)))
		}
		return ast.WalkSkipChildren, nil
	case *ast.RawHTML, *east.TaskCheckBox:
		return ast.WalkSkipChildren, nil
	}
	return ast.WalkContinue, nil
}

func isCode(n ast.Node) bool {
	p := n.Parent()
	return p != nil && p.Kind() == ast.KindCodeSpan
}

// htmlText returns the text of an HTML fragment, without script and style.
func htmlText(b []byte) string {
	var out strings.Builder
	z := xhtml.NewTokenizer(bytes.NewReader(b))
	skip := 0
	for {
		switch z.Next() {
		case xhtml.ErrorToken:
			return strings.TrimSpace(out.String())
		case xhtml.StartTagToken:
			if name, _ := z.TagName(); string(name) == "script" || string(name) == "style" {
				skip++
			}
		case xhtml.EndTagToken:
			if name, _ := z.TagName(); (string(name) == "script" || string(name) == "style") && skip > 0 {
				skip--
			}
		case xhtml.TextToken:
			if skip == 0 {
				out.WriteString(strings.Join(strings.Fields(string(z.Text())), " ") + " ")
			}
		}
	}
}

var (
	_ extract.Parser    = (*Parser)(nil)
	_ extract.Versioner = (*Parser)(nil)
)
