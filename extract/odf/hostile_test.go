package odf

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract"
)

func TestHostile(t *testing.T) {
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>` +
		strings.TrimPrefix(content("text", "<text:p>&lol2;</text:p>"), `<?xml version="1.0" encoding="UTF-8"?>`)
	t.Run("billion laughs", func(t *testing.T) {
		doc, err := parse(t, pkgZip(t, MediaTypeODT, entry{"content.xml", laughs}), extract.Limits{})
		if err == nil && strings.Contains(doc.Text, "lollol") {
			t.Fatal("entity expanded")
		}
		if err != nil && !errors.Is(err, extract.ErrMalformed) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("repeated columns and rows", func(t *testing.T) {
		cells := strings.Repeat(`<table:table-cell table:number-columns-repeated="1000000"><text:p>X</text:p></table:table-cell>`, 200)
		body := `<table:table><table:table-row table:number-rows-repeated="1000000">` + cells + `</table:table-row></table:table>`
		start := time.Now()
		doc, err := parse(t, pkgZip(t, MediaTypeODS, entry{"content.xml", content("spreadsheet", body)}), extract.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		// At most maxRowCells cells per row and maxRepeat rows.
		if n := len(doc.Text); n > 2*maxRowCells*maxRepeat || time.Since(start) > 10*time.Second {
			t.Fatalf("%d bytes in %v", n, time.Since(start))
		}
	})
	t.Run("deep nesting", func(t *testing.T) {
		body := strings.Repeat("<text:span>", maxDepth+10) + strings.Repeat("</text:span>", maxDepth+10)
		_, err := parse(t, pkgZip(t, MediaTypeODT, entry{"content.xml", content("text", "<text:p>"+body+"</text:p>")}), extract.Limits{})
		if !errors.Is(err, extract.ErrMalformed) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("entry cap", func(t *testing.T) {
		b := pkgZip(t, MediaTypeODT, entry{"content.xml", content("text", "<text:p>x</text:p>")}, entry{"a", "1"}, entry{"b", "2"})
		if _, err := parse(t, b, extract.Limits{MaxArchiveEntries: 2}); !errors.Is(err, extract.ErrTooLarge) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("unpacked budget", func(t *testing.T) {
		b := pkgZip(t, MediaTypeODT, entry{"content.xml", content("text", "<text:p>"+strings.Repeat("word ", 1<<18)+"</text:p>")})
		if _, err := parse(t, b, extract.Limits{MaxUnpackedBytes: 64 << 10}); !errors.Is(err, extract.ErrTooLarge) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		b := odtPkg(t)
		if _, err := New().Parse(ctx, extract.Input{R: strings.NewReader(string(b)), Size: int64(len(b))}); !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v", err)
		}
	})
}
