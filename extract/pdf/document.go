package pdf

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"unicode"

	lpdf "github.com/ledongthuc/pdf"

	"github.com/quarryhq/quarry/extract"
)

// extraction is the state of one Parse call.
type extraction struct {
	ctx context.Context
	r   *lpdf.Reader
	lim extract.Limits

	pages      []lpdf.Value // page dictionaries in document order
	nodes      int          // page-tree nodes visited
	treeCapped bool         // the walk stopped at MaxPages or the node budget

	fonts     map[fontKey]*fontInfo // fonts by object and resource name
	streams   map[uint64]int64      // checked stream sizes by object id
	unpack    int64                 // decompressed bytes checked so far
	ops       int                   // content operators interpreted
	chars     int                   // code points produced so far
	full      bool                  // the text cap was reached
	exhausted bool                  // a work budget ran out
	pageErr   error                 // the first page failure
	pagesOK   int                   // pages read without failure
	doc       *extract.Document
	repaired  bool // the cross-reference table was rebuilt by a scan
}

// errNoCatalog: the catalog or its page tree cannot be read; a repair may
// find them.
var errNoCatalog = fmt.Errorf("%w", extract.ErrMalformed)

// stop unwinds a page's interpretation when a budget runs out; it is caught
// by the page's recover and is not an error.
type stop struct{ reason string }

func (e *extraction) run() (*extract.Document, error) {
	root := e.r.Trailer().Key("Root")
	if root.Kind() != lpdf.Dict {
		return nil, fmt.Errorf("%w: the catalog (/Root) is not a dictionary", errNoCatalog)
	}
	tree := root.Key("Pages")
	if tree.Kind() != lpdf.Dict {
		return nil, fmt.Errorf("%w: the catalog has no page tree (/Pages)", errNoCatalog)
	}
	e.doc = &extract.Document{Warnings: []extract.Warning{}}
	if e.repaired {
		e.warn(0, extract.WarnRepaired, "the file is damaged (a broken or missing cross-reference table, or the file is cut off); its objects were recovered by scanning the file, and some text may be missing")
	}
	e.metadata(root)

	if err := e.walk(tree, 0, map[uint64]bool{}); err != nil {
		return nil, err
	}
	if len(e.pages) == 0 {
		return nil, fmt.Errorf("%w: the page tree holds no pages", errNoCatalog)
	}
	e.doc.Metadata.PageCount = len(e.pages)
	if e.treeCapped {
		// /Count cannot be trusted, but it is the best figure there is
		// when it is larger and plausible.
		if c := tree.Key("Count").Int64(); c > int64(len(e.pages)) && c <= 1<<24 {
			e.doc.Metadata.PageCount = int(c)
		}
		e.warn(0, extract.WarnTruncated, fmt.Sprintf("only the first %d pages were read (page limit)", len(e.pages)))
	}

	for i, pv := range e.pages {
		if err := e.ctx.Err(); err != nil {
			return nil, err
		}
		if e.full || e.exhausted {
			break
		}
		e.page(i+1, pv)
	}
	if e.pagesOK == 0 && e.pageErr != nil {
		// Not one page could be read: the document is broken (or over a
		// limit), not merely damaged.
		return nil, e.pageErr
	}
	return e.doc, nil
}

func (e *extraction) warn(page int, code, msg string) {
	e.doc.Warnings = append(e.doc.Warnings, extract.Warning{Code: code, Message: msg, Page: page})
}

// walk collects the page dictionaries under node. It never trusts /Count:
// it follows /Kids with a set of ancestors (a cycle is ErrMalformed, where
// the library's Page(i) would loop forever), a depth limit and a node
// budget, and stops at Limits.MaxPages.
func (e *extraction) walk(node lpdf.Value, depth int, ancestors map[uint64]bool) error {
	if err := e.ctx.Err(); err != nil {
		return err
	}
	kids := node.Key("Kids")
	if !isPagesNode(node) {
		if len(e.pages) >= e.lim.MaxPages {
			e.treeCapped = true
			return nil
		}
		e.pages = append(e.pages, node)
		return nil
	}
	if kids.Kind() != lpdf.Array {
		return nil // an empty /Pages node
	}
	if depth >= maxTreeDepth {
		return fmt.Errorf("%w: the page tree is deeper than %d levels", extract.ErrMalformed, maxTreeDepth)
	}
	id, hasID := objID(node)
	if hasID {
		ancestors[id] = true
		defer delete(ancestors, id)
	}
	budget := 4*e.lim.MaxPages + 1000
	for i := range kids.Len() {
		if e.treeCapped {
			return nil
		}
		e.nodes++
		if e.nodes > budget {
			e.treeCapped = true
			return nil
		}
		kid := kids.Index(i)
		if kid.Kind() != lpdf.Dict {
			continue
		}
		// Only intermediate nodes can close a cycle. (An inline dictionary
		// carries the object id of its container, so a leaf written inline
		// in /Kids would look like its parent.)
		if kidID, ok := objID(kid); ok && ancestors[kidID] && isPagesNode(kid) {
			return fmt.Errorf("%w: the page tree is cyclic (/Kids leads back to an ancestor)", extract.ErrMalformed)
		}
		if err := e.walk(kid, depth+1, ancestors); err != nil {
			return err
		}
	}
	return nil
}

// objID returns the object number and generation of the indirect object v
// was read from (for a direct value, of the object containing it). The
// library keeps it in an unexported field; reflection reads it without
// touching the library. ok is false when it is unavailable.
func objID(v lpdf.Value) (id uint64, ok bool) {
	f := reflect.ValueOf(v).FieldByName("ptr")
	if !f.IsValid() || f.Kind() != reflect.Struct || f.NumField() < 2 {
		return 0, false
	}
	a, b := f.Field(0), f.Field(1)
	if !isUint(a.Kind()) || !isUint(b.Kind()) {
		return 0, false
	}
	id = a.Uint()<<16 | b.Uint()&0xffff
	return id, a.Uint() != 0
}

// isPagesNode reports whether v is an intermediate page-tree node: /Type
// /Pages, or no /Type /Page and a /Kids array.
func isPagesNode(v lpdf.Value) bool {
	switch v.Key("Type").Name() {
	case "Pages":
		return true
	case "Page":
		return false
	}
	return v.Key("Kids").Kind() == lpdf.Array
}

func isUint(k reflect.Kind) bool {
	return k >= reflect.Uint && k <= reflect.Uint64
}

// page extracts one page under its own recover: a failure becomes a
// page_failed warning and the document goes on.
func (e *extraction) page(num int, pv lpdf.Value) {
	var b textBuilder
	b.limit = e.lim.MaxChars + 1 - e.chars
	failed := false
	func() {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if s, ok := v.(*stop); ok {
				if s.reason != "" {
					e.warn(num, extract.WarnTruncated, s.reason)
				}
				return
			}
			err := panicError(v, fmt.Sprintf("page %d", num))
			if a, ok := v.(*abort); ok {
				panic(a) // context or read budget: end the document
			}
			if e.pageErr == nil {
				e.pageErr = err
			}
			failed = true
			msg := err.Error()
			if b.n > 0 {
				msg += " (the text read before the failure is kept)"
			}
			e.warn(num, extract.WarnPageFailed, msg)
		}()
		res := inheritedResources(pv)
		e.interpret(&b, pv.Key("Contents"), res, ident, 0, nil)
	}()
	text := b.String()
	if !failed {
		e.pagesOK++
	}
	e.chars += b.n
	if b.n >= b.limit {
		e.full = true
	}
	if strings.IndexFunc(text, func(r rune) bool { return !unicode.IsSpace(r) }) < 0 && !e.hasWarning(num) {
		e.warn(num, extract.WarnNoTextLayer, fmt.Sprintf("page %d has no text layer (scanned or drawn text; OCR is not applied)", num))
	}
	e.doc.Pages = append(e.doc.Pages, extract.Page{Number: num, Text: text})
}

func (e *extraction) hasWarning(page int) bool {
	for _, w := range e.doc.Warnings {
		if w.Page == page {
			return true
		}
	}
	return false
}

// inheritedResources finds the page's /Resources, inherited through
// /Parent with a depth limit (the library's findInherited loops forever on
// a cyclic /Parent chain).
func inheritedResources(pv lpdf.Value) lpdf.Value {
	v := pv
	for range maxTreeDepth {
		if v.Kind() != lpdf.Dict {
			break
		}
		if r := v.Key("Resources"); r.Kind() == lpdf.Dict {
			return r
		}
		v = v.Key("Parent")
	}
	return lpdf.Value{}
}
