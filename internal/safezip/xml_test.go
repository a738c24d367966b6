package safezip

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
)

func TestXMLReader(t *testing.T) {
	doc := "\xef\xbb\xbf<r a=\"1\"><skip><x>no</x></skip><keep>yes</keep></r>"
	deep := strings.Repeat("<a>", MaxXMLDepth+1) + strings.Repeat("</a>", MaxXMLDepth+1)
	laughs := `<!DOCTYPE r [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><r>&lol2;</r>`
	r, err := open(t, zipOf(t, entry{name: "doc.xml", data: []byte(doc)}, entry{name: "deep.xml", data: []byte(deep)},
		entry{name: "laughs.xml", data: []byte(laughs)}), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}

	x, err := r.OpenXML(t.Context(), "doc.xml")
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for {
		tok, err := x.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			if v.Name.Local == "r" && Attr(v, "a") != "1" {
				t.Errorf("Attr = %q", Attr(v, "a"))
			}
			if v.Name.Local == "skip" {
				if err := x.Skip(); err != nil {
					t.Fatal(err)
				}
				if x.Depth() != 1 {
					t.Errorf("depth after Skip = %d, want 1", x.Depth())
				}
			}
		case xml.CharData:
			text = append(text, string(v))
		}
	}
	x.Close()
	if strings.Join(text, "") != "yes" {
		t.Errorf("text = %q", text)
	}

	for name, want := range map[string]error{"deep.xml": extract.ErrMalformed, "laughs.xml": extract.ErrMalformed} {
		x, err := r.OpenXML(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		for err == nil {
			_, err = x.Next()
		}
		x.Close()
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	x, _ = r.OpenXML(ctx, "deep.xml")
	defer x.Close()
	for err = nil; err == nil; _, err = x.Next() {
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
