package extract_test

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/quarryhq/quarry/extract"
)

// csvParser is a custom parser: it reads CSV files and returns one line of
// text per record, with the cells separated by " | ".
type csvParser struct{}

func (csvParser) MediaTypes() []string { return []string{"text/csv"} }

func (csvParser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	var b strings.Builder
	sc := bufio.NewScanner(in.Reader())
	for sc.Scan() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b.WriteString(strings.ReplaceAll(sc.Text(), ",", " | "))
		b.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("csv: %w: %v", extract.ErrMalformed, err)
	}
	return &extract.Document{Text: b.String()}, nil
}

// Guard: csvParser implements extract.Parser.
var _ extract.Parser = csvParser{}

// Register a custom parser in a Registry and extract a document with it.
// The content decides the format: the sniffed type text/csv leads to the
// parser, whatever the file is called.
func Example_customParser() {
	reg := extract.NewRegistry()
	reg.MustRegister("csv", csvParser{})

	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		panic(err)
	}
	data := "name,city\nAda,London\nGrace,Arlington\n"
	doc, err := ex.Extract(context.Background(), extract.Input{
		R:        strings.NewReader(data),
		Size:     int64(len(data)),
		Filename: "people.csv",
	}, extract.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Print(doc.Text)
	fmt.Println("parser:", doc.Metadata.Parser, "pages:", doc.Metadata.PageCount)
	// Output:
	// name | city
	// Ada | London
	// Grace | Arlington
	// parser: csv pages: 1
}

// Sniff decides the format from the content; the filename only refines
// plain text into Markdown when a Markdown parser is registered.
func ExampleRegistry_Sniff() {
	reg := extract.NewRegistry()
	reg.MustRegister("pdf", newFake("application/pdf"))
	reg.MustRegister("txt", newFake("text/plain"))
	reg.MustRegister("md", newFake("text/markdown"))

	fmt.Println(reg.Sniff([]byte("%PDF-1.7\n%...."), "report.docx"))
	fmt.Println(reg.Sniff([]byte("# Notes\n\nPlain words."), "notes.md"))
	fmt.Println(reg.Sniff([]byte("# Notes\n\nPlain words."), "notes.txt"))
	// Output:
	// application/pdf
	// text/markdown; charset=utf-8
	// text/plain; charset=utf-8
}

func ExampleParsePageRanges() {
	sel, err := extract.ParsePageRanges("1-3, 7")
	fmt.Println(sel, err)

	sel, err = extract.ParsePageRanges("")
	fmt.Println(sel == nil, err)

	_, err = extract.ParsePageRanges("3-1")
	fmt.Println(err)
	// Output:
	// map[1:true 2:true 3:true 7:true] <nil>
	// true <nil>
	// extract: option pages: want page numbers or ranges such as 1-3,7
}
