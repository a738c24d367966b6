package pdf

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
)

// FuzzParse: Parse never lets a panic escape, returns within its deadline
// (plus a grace period: the guards check the context between reads and
// operators), and returns well-formed output: a sentinel error or a
// document with numbered pages and valid UTF-8 text within the caps.
//
// The seeds include nested object streams (testdata/objstm-*.pdf), which
// crash the library with a stack overflow unless checkObjectStreams and
// the /Encrypt pre-check refuse them first (see doc.go).
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.pdf"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, data := range fixtures() {
		f.Add(data)
	}
	const deadline = 2 * time.Second
	lim := extract.Limits{MaxChars: 1 << 16, MaxPages: 50, MaxUnpackedBytes: 16 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		type result struct {
			doc      *extract.Document
			err      error
			panicked any
		}
		done := make(chan result, 1)
		go func() {
			defer func() {
				if v := recover(); v != nil {
					done <- result{panicked: v}
				}
			}()
			doc, err := New().Parse(ctx, extract.Input{R: bytes.NewReader(data), Size: int64(len(data)), Limits: lim})
			done <- result{doc: doc, err: err}
		}()
		var r result
		select {
		case r = <-done:
		case <-time.After(deadline + 3*time.Second):
			t.Fatalf("Parse hung past its deadline")
		}
		if r.panicked != nil {
			t.Fatalf("panic escaped Parse: %v", r.panicked)
		}
		if r.err != nil {
			for _, ok := range []error{extract.ErrMalformed, extract.ErrEncrypted, extract.ErrTooLarge, context.DeadlineExceeded} {
				if errors.Is(r.err, ok) {
					return
				}
			}
			t.Fatalf("error without a sentinel: %v", r.err)
		}
		if r.doc == nil {
			t.Fatal("nil document without an error")
		}
		if len(r.doc.Pages) == 0 || len(r.doc.Pages) > lim.MaxPages {
			t.Fatalf("%d pages", len(r.doc.Pages))
		}
		total := 0
		for i, p := range r.doc.Pages {
			if p.Number != i+1 {
				t.Fatalf("page %d numbered %d", i+1, p.Number)
			}
			if !utf8.ValidString(p.Text) {
				t.Fatalf("page %d: invalid UTF-8", p.Number)
			}
			total += utf8.RuneCountInString(p.Text)
		}
		if total > lim.MaxChars+1<<16 {
			t.Fatalf("%d code points, cap %d", total, lim.MaxChars)
		}
	})
}
