// Command customparser shows how to teach Quarry a format of your own: a
// parser is two methods, it is registered in a Registry value next to the
// built-ins, and the conformance suite (extract/extracttest) checks it.
//
//	go run ./examples/customparser
package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/standard"
)

// vcardParser reads vCard files (text/vcard): one line per property,
// "FN:Ada Lovelace". It keeps the human-readable properties.
type vcardParser struct{}

func (vcardParser) MediaTypes() []string { return []string{"text/vcard"} }

// Sniff claims content that starts like a vCard; the generic sniffer sees
// only plain text.
func (vcardParser) Sniff(head []byte) string {
	if bytes.HasPrefix(bytes.TrimSpace(head), []byte("BEGIN:VCARD")) {
		return "text/vcard"
	}
	return ""
}

func (vcardParser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	keep := map[string]string{"FN": "", "ORG": "Organisation: ", "TITLE": "Title: ", "NOTE": ""}
	var lines []string
	title := ""
	sc := bufio.NewScanner(in.Reader())
	for sc.Scan() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(strings.ToUpper(name), ";") // FN;CHARSET=UTF-8
		if prefix, wanted := keep[name]; wanted {
			lines = append(lines, prefix+value)
			if name == "FN" && title == "" {
				title = value
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", extract.ErrMalformed, err)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%w: no vCard properties", extract.ErrMalformed)
	}
	return &extract.Document{Text: strings.Join(lines, "\n"), Metadata: extract.Metadata{Title: title}}, nil
}

func run(ctx context.Context, w io.Writer) error {
	reg := standard.NewRegistry()            // pdf, docx, html, markdown, text
	reg.MustRegister("vcard", vcardParser{}) // and ours
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		return err
	}
	card := []byte("BEGIN:VCARD\nVERSION:4.0\nFN:Ada Lovelace\nORG:Analytical Engines Ltd\nTITLE:Programmer\nEND:VCARD\n")
	doc, err := ex.Extract(ctx, extract.Input{R: bytes.NewReader(card), Size: int64(len(card)), Filename: "ada.vcf"}, extract.Options{})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "parser: %s\ntitle: %s\n%s\n", doc.Metadata.Parser, doc.Metadata.Title, doc.Text)
	return nil
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
