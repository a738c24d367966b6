package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/quarryhq/quarry/extract/extracttest"
)

// TestRun runs the example as `go run` would.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := "parser: vcard\ntitle: Ada Lovelace\nAda Lovelace\nOrganisation: Analytical Engines Ltd\nTitle: Programmer\n"
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestConformance is what every parser author should write: the same
// suite Quarry's own parsers pass.
func TestConformance(t *testing.T) {
	extracttest.Run(t, vcardParser{}, extracttest.Case{
		Name:         "card",
		Input:        []byte("BEGIN:VCARD\nFN:Grace Hopper\nEND:VCARD\n"),
		WantContains: []string{"Grace Hopper"},
	})
}
