package rtf_test

import (
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/extracttest"
	"github.com/quarryhq/quarry/extract/rtf"
	"github.com/quarryhq/quarry/extract/txt"
)

const sample = `{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss\fcharset0 Arial;}}` +
	`{\info{\title Sample}{\author Ann}}` + "\n" +
	`\pard Hello, RTF world.\par Caf\'e9 \u8364? {\field{\*\fldinst HYPERLINK "x"}{\fldrslt link}}\par` +
	`\trowd\cellx1000\cellx2000\pard\intbl a\cell b\cell\row}`

func TestConformance(t *testing.T) {
	extracttest.Run(t, rtf.New(),
		extracttest.Case{Name: "simple", Input: []byte(sample), WantContains: []string{"Hello, RTF world.", "Café €", "link", "a\tb"}},
		extracttest.Case{Name: "text/rtf", Input: []byte(`{\rtf1 plain}`), MediaType: "text/rtf", WantContains: []string{"plain"}},
		extracttest.Case{Name: "not rtf", Input: []byte("just text"), WantErr: extract.ErrMalformed},
		extracttest.Case{Name: "deep", Input: []byte(`{\rtf1 ` + string(make([]byte, 0)) + deep(20000) + `}`), WantErr: extract.ErrMalformed},
	)
}

func deep(n int) string {
	b := make([]byte, 0, 2*n+1)
	for range n {
		b = append(b, '{')
	}
	b = append(b, 'x')
	for range n {
		b = append(b, '}')
	}
	return string(b)
}

func TestRegistrySniff(t *testing.T) {
	reg := extract.NewRegistry()
	reg.MustRegister("rtf", rtf.New())
	reg.MustRegister("txt", txt.New())
	for _, s := range []struct{ head, want string }{
		{sample, "text/rtf"},
		{`{\rtf1\mac x}`, "text/rtf"},
	} {
		got := reg.Sniff([]byte(s.head), "doc.rtf")
		if extract.BaseType(got) != s.want {
			t.Errorf("Sniff(%.20q) = %q, want %q", s.head, got, s.want)
			continue
		}
		name, _, err := reg.Lookup(got)
		if err != nil || name != "rtf" {
			t.Errorf("Lookup(%q) = %q, %v", got, name, err)
		}
	}
}

// TestRegistrySniffer: RTF after a byte-order mark, which the generic
// sniffer calls text, is found by the parser's Sniffer when no text parser
// claims text/plain first (the Registry asks Sniffers only then).
func TestRegistrySniffer(t *testing.T) {
	reg := extract.NewRegistry()
	reg.MustRegister("rtf", rtf.New())
	if got := reg.Sniff([]byte("\xEF\xBB\xBF"+sample), ""); got != "application/rtf" {
		t.Errorf("Sniff = %q, want application/rtf", got)
	}
}
