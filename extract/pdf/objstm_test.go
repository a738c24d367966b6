package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract"
)

// childEnv names the fixture a re-executed test binary parses.
const childEnv = "QUARRY_PDF_OBJSTM_CHILD"

// TestObjStmRecursionChild is the child half of TestObjStmRecursion: it
// parses the fixture named by $QUARRY_PDF_OBJSTM_CHILD and prints the
// outcome. A regression kills only this process (a stack overflow is fatal,
// not a panic), which the parent reports.
func TestObjStmRecursionChild(t *testing.T) {
	name := os.Getenv(childEnv)
	if name == "" {
		t.Skip("run by TestObjStmRecursion")
	}
	data, ok := fixtures()[name]
	if !ok {
		t.Fatalf("no fixture %q", name)
	}
	doc, err := New().Parse(t.Context(), extract.Input{R: bytes.NewReader(data), Size: int64(len(data))})
	fmt.Printf("RESULT malformed=%v repaired=%v err=%v\n", errors.Is(err, extract.ErrMalformed), err == nil && hasWarning(doc, extract.WarnRepaired, 0), err)
}

// TestObjStmRecursion: an object stream stored in itself, two object
// streams stored in each other, a container out of range, and an /Encrypt
// dictionary in a self-contained object stream (resolved by the library
// while opening) give ErrMalformed instead of killing the process, or are
// read after a repair (the rebuilt cross-reference table has no nesting).
func TestObjStmRecursion(t *testing.T) {
	for _, name := range []string{"objstm-self", "objstm-cycle", "objstm-out-of-range", "objstm-encrypt-self", "objstm-encrypt-self-esc"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestObjStmRecursionChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"="+name)
			cmd.WaitDelay = time.Second
			out, err := cmd.CombinedOutput()
			s := string(out)
			if strings.Contains(s, "stack exceeds") || strings.Contains(s, "stack overflow") {
				t.Fatalf("the child died of a stack overflow (err %v):\n%s", err, head(s, 2000))
			}
			if err != nil {
				t.Fatalf("child: %v\n%s", err, head(s, 2000))
			}
			if !strings.Contains(s, "RESULT malformed=true") && !strings.Contains(s, "repaired=true") {
				t.Fatalf("want ErrMalformed or a repaired document, child printed:\n%s", head(s, 2000))
			}
			i := strings.Index(s, "RESULT")
			t.Log(strings.TrimSpace(strings.SplitN(s[i:], "\n", 2)[0]))
		})
	}
}

func head(s string, n int) string {
	if len(s) > n {
		return s[:n] + "\n..."
	}
	return s
}

// TestObjStmValid: legitimate object streams, plain and encrypted with a
// cross-reference stream, are not refused and their text is extracted.
func TestObjStmValid(t *testing.T) {
	for name, data := range map[string][]byte{"objstm-valid": objStmValid(), "objstm-encrypted-valid": objStmEncryptedValid()} {
		t.Run(name, func(t *testing.T) {
			doc, err := parseWithin(t, data, extract.Input{}, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := allText(doc), "Hello World\nSecond line"; got != want {
				t.Errorf("text = %q, want %q", got, want)
			}
			if doc.Metadata.PageCount != 1 || doc.Metadata.Language != "en-GB" {
				t.Errorf("metadata = %+v", doc.Metadata)
			}
		})
	}
}

// TestObjStmXrefLayout fails when an upgrade of github.com/ledongthuc/pdf
// changes the layout of Reader.xref: checkObjectStreams would then check
// nothing and the nested object streams would crash the process again.
func TestObjStmXrefLayout(t *testing.T) {
	data := objStmValid()
	r, err := open(&guardedReader{r: bytes.NewReader(data), size: int64(len(data)), ctx: t.Context(), budget: 1 << 30}, int64(len(data)), "")
	if err != nil {
		t.Fatal(err)
	}
	x, ok := viewXref(r)
	if !ok {
		t.Fatal("reflection no longer finds Reader.xref []struct{ptr objptr; inStream bool; stream objptr{id, gen}; ...}: the library's layout changed; update viewXref (objstm.go)")
	}
	if x.len() != 9 {
		t.Fatalf("%d entries, want 9", x.len())
	}
	for i := range x.len() {
		in, c := x.entry(i)
		want := i >= 1 && i <= 3
		if in != want || in && c != 7 {
			t.Errorf("entry %d: inStream %v container %d, want inStream %v container 7", i, in, c, want)
		}
	}
}

// TestObjStmEncryptPatches: the /Encrypt pre-check overlays the key of a
// cross-reference stream's dictionary (however it is spelt) and nothing
// for classic tables or unencrypted files.
func TestObjStmEncryptPatches(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want []string
	}{
		{"xref stream", objStmEncryptedValid(), []string{"Encrypt"}},
		{"escaped", objStmEncryptSelf("/Encr#79pt"), []string{"Encr#79pt"}},
		{"unencrypted xref stream", objStmValid(), nil},
		{"classic table", encryptedRC4(""), nil},
		{"classic unencrypted", helloPDF(), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := &guardedReader{r: bytes.NewReader(c.data), size: int64(len(c.data)), ctx: t.Context(), budget: 1 << 30}
			patches, err := encryptPatches(g, g.size)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range patches {
				got = append(got, string(c.data[p.off:p.off+int64(len(p.b))]))
				if strings.Trim(string(p.b), "X") != "" {
					t.Errorf("patch %q", p.b)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("patched %q, want %q", got, c.want)
			}
		})
	}
}

// TestObjStmTrailerUnchecked: when the pre-check cannot hide /Encrypt
// without touching stream data (a string "(stream)" comes before the key),
// the file is refused rather than opened unchecked; without /Encrypt the
// same dictionary is fine, and so are strings with parentheses and ">>".
func TestObjStmTrailerUnchecked(t *testing.T) {
	d := objStmEncrypted("/Encrypt")
	d.trailer = "/Comment (stream) " + d.trailer
	_, err := parseWithin(t, d.build(), extract.Input{}, 5*time.Second)
	if !errors.Is(err, extract.ErrMalformed) || !strings.Contains(err.Error(), "/Encrypt") {
		t.Fatalf("err = %v, want ErrMalformed about /Encrypt", err)
	}

	d = objStmDoc()
	d.trailer = "/Comment (stream) " + d.trailer
	if _, err := parseWithin(t, d.build(), extract.Input{}, 5*time.Second); err != nil {
		t.Errorf("unencrypted: %v", err)
	}

	d = objStmEncrypted("/Encrypt")
	d.trailer = `/Comment (a \) (b) >> <<) /Hex <3e3e> % >> /Encrypt
` + d.trailer
	data := d.build()
	g := &guardedReader{r: bytes.NewReader(data), size: int64(len(data)), ctx: t.Context(), budget: 1 << 30}
	if p, err := encryptPatches(g, g.size); err != nil || len(p) != 2 {
		t.Errorf("patches %v err %v, want 2 (the comment's and the key's)", p, err)
	}
	doc, err := parseWithin(t, data, extract.Input{}, 5*time.Second)
	if err != nil || !strings.Contains(allText(doc), "Hello World") {
		t.Errorf("strings in the trailer: doc %v err %v", doc, err)
	}
}

// TestObjStmGuardedReaderPatches: overlays apply to every read that
// overlaps them, whatever the chunking.
func TestObjStmGuardedReaderPatches(t *testing.T) {
	data := []byte("0123456789abcdefghij")
	g := &guardedReader{r: bytes.NewReader(data), size: int64(len(data)), ctx: t.Context(), budget: 1 << 20,
		patches: []patch{{off: 3, b: []byte("XXX")}, {off: 10, b: []byte("YY")}}}
	want := "012XXX6789YYcdefghij"
	for chunk := 1; chunk <= len(data); chunk++ {
		var got []byte
		for off := 0; off < len(data); off += chunk {
			p := make([]byte, min(chunk, len(data)-off))
			n, _ := g.ReadAt(p, int64(off))
			got = append(got, p[:n]...)
		}
		if string(got) != want {
			t.Fatalf("chunk %d: %q, want %q", chunk, got, want)
		}
	}
}
