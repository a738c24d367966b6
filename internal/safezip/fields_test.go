package safezip

import (
	"context"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/ziptest"
)

func TestFields(t *testing.T) {
	meta := `<?xml version="1.0"?><cp:coreProperties xmlns:cp="urn:cp" xmlns:dc="urn:dc">` +
		`<dc:title>  A title  </dc:title><dc:creator>Ann</dc:creator><cp:keywords><k>one</k></cp:keywords>` +
		`<dc:description>` + strings.Repeat("x", 9000) + `</dc:description></cp:coreProperties>`
	zr, err := open(t, ziptest.Build(t, ziptest.Files{"meta.xml": meta}), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := zr.OpenXML(context.Background(), "meta.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	got := map[string]string{}
	var order []string
	if err := x.Fields(func(name, v string) { got[name] = v; order = append(order, name) }); err != nil {
		t.Fatal(err)
	}
	if got["title"] != "A title" || got["creator"] != "Ann" || got["k"] != "one" {
		t.Errorf("fields %v", got)
	}
	if n := len(got["description"]); n != maxFieldBytes {
		t.Errorf("a long value kept %d bytes, want %d", n, maxFieldBytes)
	}
	if strings.Join(order, ",") != "title,creator,k,keywords,description,coreProperties" {
		t.Errorf("order %v", order)
	}
}
