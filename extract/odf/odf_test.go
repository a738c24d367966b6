package odf

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/extracttest"
)

func parse(t *testing.T, b []byte, lim extract.Limits) (*extract.Document, error) {
	t.Helper()
	return New().Parse(context.Background(), extract.Input{R: bytes.NewReader(b), Size: int64(len(b)), Limits: lim})
}

func TestODT(t *testing.T) {
	doc, err := parse(t, odtPkg(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := "Heading One\n\nHello   world\ttab\nnext line\n\nBody[1] after\n\n- apple\n\n  - sub\n\na\tb\tb\n\nIn a box\n\n[1] Foot text"
	if doc.Text != want {
		t.Errorf("text\n%q\nwant\n%q", doc.Text, want)
	}
	for _, bad := range []string{"DELETED", "COMMENT", "ALT"} {
		if strings.Contains(doc.Text, bad) {
			t.Errorf("text contains %q", bad)
		}
	}
	md := doc.Metadata
	if md.Title != "My Title" || md.Author != "Ada" || md.Language != "en-GB" || md.Created == nil || md.Modified == nil || md.Created.Year() != 2024 || md.Modified.Month() != 2 {
		t.Errorf("metadata %+v", md)
	}
}

func TestODS(t *testing.T) {
	doc, err := parse(t, odsPkg(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 2 {
		t.Fatalf("%d pages, want 2: %q", len(doc.Pages), doc.Text)
	}
	if got, want := doc.Pages[0].Text, "Name\tQty\npear\t\t3"; got != want {
		t.Errorf("sheet 1 %q, want %q", got, want)
	}
	if got, want := doc.Pages[1].Text, "second sheet"; got != want {
		t.Errorf("sheet 2 %q, want %q", got, want)
	}
}

func TestODP(t *testing.T) {
	doc, err := parse(t, odpPkg(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Slide One\n\n- point a", "Slide Two\n\n- point b"}
	if len(doc.Pages) != len(want) {
		t.Fatalf("%d pages: %q", len(doc.Pages), doc.Text)
	}
	for i, w := range want {
		if doc.Pages[i].Text != w || doc.Pages[i].Number != i+1 {
			t.Errorf("page %d %q, want %q", i+1, doc.Pages[i].Text, w)
		}
	}
	if strings.Contains(doc.Text, "SPEAKER") {
		t.Error("speaker notes in the text")
	}
}

func TestErrors(t *testing.T) {
	enc := strings.Replace(manifestXML, `manifest:media-type="text/xml"/>`, `manifest:media-type="text/xml"><manifest:encryption-data manifest:checksum-type="SHA1"/></manifest:file-entry>`, 1)
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"not a zip", []byte("hello, not a zip at all"), extract.ErrMalformed},
		{"empty", nil, extract.ErrMalformed},
		{"no content", pkgZip(t, MediaTypeODT, entry{"meta.xml", metaXML}), extract.ErrMalformed},
		{"other type", pkgZip(t, "application/vnd.oasis.opendocument.graphics", entry{"content.xml", content("drawing", "")}), extract.ErrUnsupportedFormat},
		{"encrypted", pkgZip(t, MediaTypeODT, entry{"META-INF/manifest.xml", enc}, entry{"content.xml", "\x01\x02garbage"}), extract.ErrEncrypted},
		{"bad xml", pkgZip(t, MediaTypeODT, entry{"content.xml", "<a><b></a>"}), extract.ErrMalformed},
		{"truncated xml", pkgZip(t, MediaTypeODT, entry{"content.xml", content("text", "<text:p>x")}), extract.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.data, extract.Limits{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
	// No mimetype entry is tolerated.
	doc, err := parse(t, pkgZip(t, "", entry{"content.xml", content("text", "<text:p>lone</text:p>")}), extract.Limits{})
	if err != nil || doc.Text != "lone" {
		t.Fatalf("%v %+v", err, doc)
	}
}

func TestSniff(t *testing.T) {
	reg := extract.NewRegistry()
	reg.MustRegister("odf", New())
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{odtPkg(t), MediaTypeODT},
		{odsPkg(t), MediaTypeODS},
		{odpPkg(t), MediaTypeODP},
		{pkgZip(t, MediaTypeOTT, entry{"content.xml", content("text", "")}), MediaTypeOTT},
	} {
		head := tc.data[:min(len(tc.data), extract.SniffLen)]
		if got := New().Sniff(head); got != tc.want {
			t.Errorf("Sniff = %q, want %q", got, tc.want)
		}
		got := reg.Sniff(head, "")
		if extract.BaseType(got) != tc.want {
			t.Errorf("Registry.Sniff = %q, want %q", got, tc.want)
		}
		if name, _, err := reg.Lookup(got); err != nil || name != "odf" {
			t.Errorf("Lookup(%q) = %q, %v", got, name, err)
		}
	}
	for _, h := range [][]byte{nil, []byte("PK\x03\x04"), pkgZip(t, "application/epub+zip"), pkgZip(t, "", entry{"content.xml", "x"})} {
		if got := New().Sniff(h); got != "" {
			t.Errorf("Sniff(%q) = %q", h, got)
		}
	}
}

func TestMaxChars(t *testing.T) {
	for _, b := range [][]byte{odtPkg(t), odsPkg(t), odpPkg(t)} {
		for _, n := range []int{1, 5, 12, 30} {
			doc, err := parse(t, b, extract.Limits{MaxChars: n})
			if err != nil {
				t.Fatal(err)
			}
			if got := len([]rune(doc.Text)); got > n {
				t.Errorf("MaxChars %d: %d code points", n, got)
			}
		}
	}
}

func TestConformance(t *testing.T) {
	extracttest.Run(t, New(),
		extracttest.Case{Name: "odt", Input: odtPkg(t), MediaType: MediaTypeODT, WantContains: []string{"Heading One", "- apple", "[1] Foot text"}},
		extracttest.Case{Name: "ods", Input: odsPkg(t), MediaType: MediaTypeODS, WantContains: []string{"Name\tQty", "second sheet"}},
		extracttest.Case{Name: "odp", Input: odpPkg(t), MediaType: MediaTypeODP, WantContains: []string{"Slide One", "point b"}},
		extracttest.Case{Name: "garbage", Input: []byte("not a zip"), WantErr: extract.ErrMalformed},
	)
}
