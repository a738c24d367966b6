package csv_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/csv"
	"github.com/quarryhq/quarry/extract/extracttest"
	"github.com/quarryhq/quarry/extract/txt"
)

func parse(t *testing.T, data, mediaType string, maxChars int) (*extract.Document, error) {
	t.Helper()
	in := extract.Input{R: strings.NewReader(data), Size: int64(len(data)), MediaType: mediaType,
		Limits: extract.Limits{MaxChars: maxChars}}
	return csv.New().Parse(context.Background(), in)
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, mediaType, want, charset string
	}{
		{"comma", "name,age\nAda,36\nGrace,45\n", "text/csv", "name\tage\nAda\t36\nGrace\t45\n", "utf-8"},
		{"no final newline", "a,b\n1,2", "text/csv", "a\tb\n1\t2\n", "utf-8"},
		{"crlf", "a,b\r\n1,2\r\n", "text/csv", "a\tb\n1\t2\n", "utf-8"},
		{"semicolon with decimal commas", "name;price\nfoo;1,5\nbar;2,25\n", "text/csv", "name\tprice\nfoo\t1,5\nbar\t2,25\n", "utf-8"},
		{"pipe", "a|b|c\n1|2|3\n", "text/csv", "a\tb\tc\n1\t2\t3\n", "utf-8"},
		{"tab as text/csv", "a\tb\n1\t2\n", "text/csv", "a\tb\n1\t2\n", "utf-8"},
		{"tsv keeps commas", "a, b\tc\n1,5\t2\n", "text/tab-separated-values", "a, b\tc\n1,5\t2\n", "utf-8"},
		{"tsv with parameters", "x\ty\n", "text/tab-separated-values; charset=utf-8", "x\ty\n", "utf-8"},
		{"quoted delimiter and newline", "a,\"b, c\"\n\"x\ny\",\"say \"\"hi\"\"\"\n", "text/csv", "a\tb, c\nx y\tsay \"hi\"\n", "utf-8"},
		{"tab inside a cell", "\"a\tb\",c\n1,2\n", "text/csv", "a b\tc\n1\t2\n", "utf-8"},
		{"lazy quotes", "a,b\"c\nd,\"e\"f\"\n", "text/csv", "a\tb\"c\nd\te\"f\n", "utf-8"},
		{"unterminated quote", "a,b\n1,\"2\n3,4\n", "text/csv", "a\tb\n1\t2 3,4\n", "utf-8"},
		{"ragged rows", "a,b,c\n1\n1,2,3,4\n", "text/csv", "a\tb\tc\n1\n1\t2\t3\t4\n", "utf-8"},
		{"empty rows and cells", "a,b,,\n,,\n\n1,,3\n", "text/csv", "a\tb\n1\t\t3\n", "utf-8"},
		{"utf-8 bom", "\xEF\xBB\xBFid,name\n1,Zoë\n", "text/csv", "id\tname\n1\tZoë\n", "utf-8"},
		{"utf-16le bom", "\xFF\xFEa\x00,\x00b\x00\n\x001\x00,\x002\x00\n\x00", "text/csv", "a\tb\n1\t2\n", "utf-16le"},
		{"windows-1252", "ville,boisson\nS\xe8te,caf\xe9 cr\xe8me\nN\xeemes,th\xe9\n", "text/csv", "ville\tboisson\nSète\tcafé crème\nNîmes\tthé\n", "windows-1252"},
		{"nfc", "e\u0301,x\n", "text/csv", "\u00e9\tx\n", "utf-8"},
		{"single column", "word\nother\n", "text/csv", "word\nother\n", "utf-8"},
		{"empty", "", "text/csv", "", "utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := parse(t, tt.in, tt.mediaType, 0)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Text != tt.want {
				t.Errorf("text = %q, want %q", doc.Text, tt.want)
			}
			if doc.Metadata.Charset != tt.charset {
				t.Errorf("charset = %q, want %q", doc.Metadata.Charset, tt.charset)
			}
			if doc.Metadata.Title != "" {
				t.Errorf("title = %q, want none", doc.Metadata.Title)
			}
		})
	}
}

func TestSniffDelimiter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want rune
	}{
		{"a,b,c\n1,2,3\n", ','},
		{"a;b;c\n1;2;3\n", ';'},
		{"a\tb\n1\t2\n", '\t'},
		{"a|b\n1|2\n", '|'},
		{"name;price\nfoo;1,5\nbar;2,25\n", ';'},
		{"\"x;y\",z\n\"1;2\",3\n", ','},
		{"just words\nno delimiters\n", ','},
		{"", ','},
		{"a;b,c\n1;2,3\n", ','}, // a tie goes to comma
		{"a|b|c|d\n1|2|3|4\nx,y\n", '|'},
	}
	for _, tt := range tests {
		if got := csv.SniffDelimiter(tt.in); got != tt.want {
			t.Errorf("SniffDelimiter(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaxChars(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for range 10000 {
		b.WriteString("alpha,beta,gamma\n")
	}
	doc, err := parse(t, b.String(), "text/csv", 100)
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(doc.Text); n > 200 {
		t.Errorf("read %d code points past a cap of 100", n)
	}
	// A quoted cell that swallows the rest: the source cap still holds,
	// and the cut is reported.
	src := "a,b\n1,\"" + strings.Repeat("x", 1000)
	doc, err = parse(t, src, "text/csv", 100)
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(doc.Text); n > 101 {
		t.Errorf("text of %d code points over a cap of 100", n)
	}
}

func TestTruncatedWarning(t *testing.T) {
	t.Parallel()
	// Quotes make the output shorter than the source: the cut must show.
	src := strings.Repeat("\"a\",\"b\",\"c\"\n", 100)
	doc, err := parse(t, src, "text/csv", 200)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, w := range doc.Warnings {
		found = found || w.Code == extract.WarnTruncated
	}
	if !found {
		t.Errorf("no truncated warning; warnings %v, text %d code points", doc.Warnings, utf8.RuneCountInString(doc.Text))
	}
	if strings.Contains(doc.Text, "\"") || !strings.HasSuffix(doc.Text, "a\tb\tc\n") {
		t.Errorf("a record was cut in two: %q", doc.Text[max(0, len(doc.Text)-20):])
	}
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := "a,b\n1,2\n"
	_, err := csv.New().Parse(ctx, extract.Input{R: strings.NewReader(data), Size: int64(len(data)), MediaType: "text/csv"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestNilInput(t *testing.T) {
	t.Parallel()
	if _, err := csv.New().Parse(context.Background(), extract.Input{}); !errors.Is(err, extract.ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
}

// TestRegistry checks what the generic sniffer makes of tables when the
// parser is registered next to the plain-text parser.
func TestRegistry(t *testing.T) {
	t.Parallel()
	reg := extract.NewRegistry()
	reg.MustRegister("csv", csv.New())
	reg.MustRegister("text", txt.New())
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, in, wantType, wantParser, wantText string
	}{
		{"comma", "people.csv", "name,age\nAda,36\nGrace,45\n", "text/csv", "csv", "name\tage\nAda\t36\nGrace\t45"},
		{"quoted", "q.csv", "name,city\n\"Smith, J\",\"Paris\"\n", "text/csv", "csv", "name\tcity\nSmith, J\tParis"},
		{"tab", "t.tsv", "a\tb\n1\t2\n", "text/tab-separated-values", "csv", "a\tb\n1\t2"},
		// Semicolons and pipes sniff as plain text, read by txt.
		{"semicolon", "s.csv", "a;b\n1;2\n", "text/csv", "csv", "a\tb\n1\t2"}, // the .csv name refines plain text
		{"semicolon without a name", "", "a;b\n1;2\n", "text/plain", "text", "a;b\n1;2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := reg.Sniff([]byte(tt.in), tt.file)
			if extract.BaseType(got) != tt.wantType {
				t.Errorf("Sniff = %q, want %s", got, tt.wantType)
			}
			doc, err := ex.Extract(context.Background(), extract.Input{R: strings.NewReader(tt.in), Size: int64(len(tt.in)), Filename: tt.file}, extract.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if doc.Metadata.Parser != tt.wantParser {
				t.Errorf("parser = %q, want %q", doc.Metadata.Parser, tt.wantParser)
			}
			if strings.TrimSpace(doc.Text) != tt.wantText {
				t.Errorf("text = %q, want %q", doc.Text, tt.wantText)
			}
		})
	}
}

var samples = [][]byte{
	[]byte("name,age,city\nAda Lovelace,36,London\nGrace Hopper,85,\"Arlington, VA\"\n"),
	[]byte("id;label;price\n1;Caf\xe9;1,50\n2;Th\xe9;2,00\n"),
	[]byte("col1\tcol2\nvalue one\tvalue two\n"),
	[]byte("a,\"multi\nline\",c\n\"bad\"quote,x\n"),
}

func TestConformance(t *testing.T) {
	extracttest.Run(t, csv.New(),
		extracttest.Case{Name: "comma", Input: samples[0], Filename: "people.csv", WantContains: []string{"Ada Lovelace\t36\tLondon", "Arlington, VA"}},
		extracttest.Case{Name: "semicolon latin1", Input: samples[1], WantContains: []string{"Café\t1,50"}},
		extracttest.Case{Name: "tsv", Input: samples[2], MediaType: "text/tab-separated-values", WantContains: []string{"value one\tvalue two"}},
		extracttest.Case{Name: "quotes", Input: samples[3], WantContains: []string{"multi line"}},
		extracttest.Case{Name: "large", Input: bytes.Repeat([]byte("x,y,z\n"), 50000), WantContains: []string{"x\ty\tz"}},
	)
}

func TestProseIsNotATable(t *testing.T) {
	prose := "From the river to the sea, the delta grows slowly over the years.\nSubject matter aside, this is a paragraph of plain prose, not data.\n"
	doc, err := csv.New().Parse(t.Context(), extract.Input{R: strings.NewReader(prose), Size: int64(len(prose)), MediaType: "text/csv"})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Text != prose {
		t.Fatalf("prose was turned into a table: %q", doc.Text)
	}
	// A file named .csv is a table whatever its cells say.
	doc, err = csv.New().Parse(t.Context(), extract.Input{R: strings.NewReader(prose), Size: int64(len(prose)), MediaType: "text/csv", Filename: "notes.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc.Text, "\t") {
		t.Fatalf("a .csv file was not read as a table: %q", doc.Text)
	}
}
