package docx

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/ziptest"
)

// bombPkg returns a package whose word/document.xml is a raw DEFLATE stream
// of n MiB of 'A' under a header declaring declared bytes.
func bombPkg(t testing.TB, mib int, declared uint64) []byte {
	t.Helper()
	return ziptest.Bomb(t, ziptest.Files(newPkg("")), "word/document.xml", mib, declared, "[Content_Types].xml")
}

func wantErr(t *testing.T, err, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, want %v", err, sentinel)
	}
}

// T10: the declared size alone refuses the document, before inflating.
func TestHonestBomb(t *testing.T) {
	b := bombPkg(t, 64, 1<<30) // 64 MiB of data; the header declares 1 GiB
	start := time.Now()
	_, err := parse(t, New(), b, extract.Limits{})
	wantErr(t, err, extract.ErrTooLarge)
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

// T11: the header declares 4 KiB, the data inflate to 64 MiB.
func TestLyingHeader(t *testing.T) {
	b := bombPkg(t, 64, 4096)
	start := time.Now()
	_, err := parse(t, New(), b, extract.Limits{})
	wantErr(t, err, extract.ErrMalformed)
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

// T12a: 10 001 entries.
func TestEntryFlood(t *testing.T) {
	p := newPkg(para("x"))
	for i := range 10001 {
		p["media/f"+strconv.Itoa(i)] = ""
	}
	_, err := parse(t, New(), p.zip(t), extract.Limits{})
	wantErr(t, err, extract.ErrTooLarge)
}

// T14: zip-slip names and a symlink are ignored, with a warning.
func TestZipSlip(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range newPkg(para("Safe text")) {
		w, _ := zw.Create(name)
		_, _ = w.Write([]byte(data))
	}
	for _, n := range []string{"../../../../tmp/pwned", "/etc/cron.d/x", `C:\x`} {
		w, _ := zw.Create(n)
		_, _ = w.Write([]byte("pwned"))
	}
	h := &zip.FileHeader{Name: "word/link.xml"}
	h.SetMode(fs.ModeSymlink | 0o777)
	w, _ := zw.CreateHeader(h)
	_, _ = w.Write([]byte("/etc/passwd"))
	_ = zw.Close()
	doc, err := extractor(t, New(), extract.Config{}).Extract(t.Context(), extract.Input{R: bytes.NewReader(buf.Bytes()), Size: int64(buf.Len())}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Text != "Safe text" {
		t.Errorf("text %q", doc.Text)
	}
	if len(doc.Warnings) != 1 || doc.Warnings[0].Code != extract.WarnEmbeddedSkipped {
		t.Errorf("warnings %v, want one embedded_skipped", doc.Warnings)
	}
}

// T15: entities declared in a DTD are never expanded.
func TestBillionLaughs(t *testing.T) {
	var dtd strings.Builder
	dtd.WriteString(`<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY lol "lol">`)
	for i := 1; i <= 9; i++ {
		prev := "lol"
		if i > 1 {
			prev = "lol" + strconv.Itoa(i-1)
		}
		dtd.WriteString(`<!ENTITY lol` + strconv.Itoa(i) + ` "` + strings.Repeat("&"+prev+";", 10) + `">`)
	}
	dtd.WriteString(`]>`)
	p := newPkg("")
	p["word/document.xml"] = dtd.String() + `<w:document xmlns:w="` + nsW + `"><w:body>` + para("&lol9;") + `</w:body></w:document>`
	start := time.Now()
	doc, err := parse(t, New(), p.zip(t), extract.Limits{})
	if err == nil {
		if strings.Contains(doc.Text, "lol") {
			t.Fatalf("entity expanded: %.80q", doc.Text)
		}
	} else {
		wantErr(t, err, extract.ErrMalformed)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

// T16: external entities are never resolved: no file read, no request.
func TestXXE(t *testing.T) {
	var hits atomic.Int64
	canary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, "CANARY")
	}))
	defer canary.Close()
	doctype := `<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY e SYSTEM "file:///etc/passwd"><!ENTITY c SYSTEM "` + canary.URL + `/x">]>`
	cases := map[string]string{
		"referenced":   doctype + `<w:document xmlns:w="` + nsW + `"><w:body>` + para("&e;&c;") + `</w:body></w:document>`,
		"unreferenced": doctype + `<w:document xmlns:w="` + nsW + `"><w:body>` + para("plain") + `</w:body></w:document>`,
	}
	for name, xml := range cases {
		t.Run(name, func(t *testing.T) {
			p := newPkg("").withRels([2]string{"styles", "styles.xml"})
			p["word/document.xml"] = xml
			p["word/styles.xml"] = doctype + part("styles", "")[len(`<?xml version="1.0" encoding="UTF-8"?>`):]
			doc, err := parse(t, New(), p.zip(t), extract.Limits{})
			if err != nil {
				wantErr(t, err, extract.ErrMalformed)
			} else if strings.Contains(doc.Text, "root:") || strings.Contains(doc.Text, "CANARY") {
				t.Fatalf("external entity resolved: %q", doc.Text)
			}
			if name == "unreferenced" && (err != nil || doc.Text != "plain") {
				t.Errorf("unreferenced DTD: %v %v", doc, err)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("canary saw %d requests", n)
	}
}

// T17: a small document whose text is huge is cut at the output cap, and
// the parser stops early.
func TestOutputCap(t *testing.T) {
	b := newPkg(randomParas(5000)).zip(t) // ~2.5 MB of text in ~1 MB
	if len(b) > 2<<20 {
		t.Fatalf("fixture is %d bytes", len(b))
	}
	const cap = 10000
	ex := extractor(t, New(), extract.Config{Limits: extract.Limits{MaxChars: cap}})
	start := time.Now()
	doc, err := ex.Extract(t.Context(), extract.Input{R: bytes.NewReader(b), Size: int64(len(b))}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(doc.Text); n > cap || n < cap-100 {
		t.Errorf("text has %d code points, want about %d", n, cap)
	}
	if len(doc.Warnings) != 1 || doc.Warnings[0].Code != extract.WarnTruncated {
		t.Errorf("warnings %v, want one truncated", doc.Warnings)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("took %v: the parser did not stop early", d)
	}
	// A text just over the cap is cut by the Extractor, with one warning.
	b = newPkg(para(strings.Repeat("x", cap-1)) + para("yy")).zip(t)
	doc, err = ex.Extract(t.Context(), extract.Input{R: bytes.NewReader(b), Size: int64(len(b))}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(doc.Text); n != cap || len(doc.Warnings) != 1 || doc.Warnings[0].Code != extract.WarnTruncated {
		t.Errorf("%d code points, warnings %v", n, doc.Warnings)
	}
}

func TestRefused(t *testing.T) {
	garbage := make([]byte, 4096)
	_, _ = rand.NewChaCha8([32]byte{7}).Read(garbage)
	noMain := newPkg(para("x"))
	delete(noMain, "word/document.xml")
	truncated := newPkg(para("x")).zip(t)
	badXML := newPkg("")
	badXML["word/document.xml"] = `<w:document xmlns:w="` + nsW + `"><w:body><w:p><w:r><w:t>unclosed`
	deep := newPkg(strings.Repeat("<w:sdt><w:sdtContent>", 6000) + para("deep") + strings.Repeat("</w:sdtContent></w:sdt>", 6000))
	htmlPolyglot := []byte("<html><script>alert(1)</script></html>")

	for name, tc := range map[string]struct {
		b    []byte
		want error
	}{
		"zero bytes":       {nil, extract.ErrMalformed},
		"garbage":          {garbage, extract.ErrMalformed},
		"html as docx":     {htmlPolyglot, extract.ErrMalformed},
		"truncated":        {truncated[:len(truncated)/2], extract.ErrMalformed},
		"no document part": {noMain.zip(t), extract.ErrMalformed},
		"broken xml":       {badXML.zip(t), extract.ErrMalformed},
		"too deep":         {deep.zip(t), extract.ErrMalformed},
		"encrypted OOXML":  {cfbFile(true), extract.ErrEncrypted},
		"legacy .doc":      {cfbFile(false), extract.ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parse(t, New(), tc.b, extract.Limits{})
			wantErr(t, err, tc.want)
		})
	}
}

// The Extractor sniffs an encrypted OOXML package as DOCX (the compound
// file is otherwise unsupported) and reports it encrypted.
func TestEncryptedThroughExtractor(t *testing.T) {
	b := cfbFile(true)
	_, err := extractor(t, New(), extract.Config{}).Extract(t.Context(), extract.Input{R: bytes.NewReader(b), Size: int64(len(b))}, extract.Options{})
	wantErr(t, err, extract.ErrEncrypted)
}

func TestCancel(t *testing.T) {
	b := newPkg(randomParas(2000)).zip(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := New().Parse(ctx, extract.Input{R: bytes.NewReader(b), Size: int64(len(b)), Limits: extract.Limits{}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

// randomParas returns n paragraphs of 80 random words each: text that
// compresses like prose, not like a bomb.
func randomParas(n int) string {
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for range n {
		b.WriteString(`<w:p><w:r><w:t xml:space="preserve">`)
		for range 80 {
			for range 2 + rng.IntN(8) {
				b.WriteByte(byte('a' + rng.IntN(26)))
			}
			b.WriteByte(' ')
		}
		b.WriteString(`</w:t></w:r></w:p>`)
	}
	return b.String()
}
