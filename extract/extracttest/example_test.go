package extracttest_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/extracttest"
)

// upperParser reads text/x-shout documents: UTF-8 text, returned upper-case.
type upperParser struct{}

func (upperParser) MediaTypes() []string { return []string{"text/x-shout"} }

func (upperParser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	data, err := io.ReadAll(io.LimitReader(in.Reader(), 1<<20))
	if err != nil {
		return nil, fmt.Errorf("shout: %w: %v", extract.ErrMalformed, err)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("shout: %w: not UTF-8", extract.ErrMalformed)
	}
	return &extract.Document{Text: strings.ToUpper(string(data))}, ctx.Err()
}

// sloppyParser forgets that input can be anything.
type sloppyParser struct{ upperParser }

func (sloppyParser) Parse(_ context.Context, in extract.Input) (*extract.Document, error) {
	data, _ := io.ReadAll(in.Reader())
	if data[0] == '!' { // panics on empty input
		return nil, fmt.Errorf("nothing to say")
	}
	return &extract.Document{Text: string(data)}, nil // may be invalid UTF-8
}

// Check runs the suite without a *testing.T and returns what it found. In a
// test, call [extracttest.Run] instead: it reports the same problems as
// subtest failures.
func ExampleCheck() {
	hello := extracttest.Case{
		Name:         "hello",
		Input:        []byte("hello, world"),
		WantContains: []string{"HELLO"},
	}
	fmt.Println(len(extracttest.Check(upperParser{}, hello)), "problems")

	for _, err := range extracttest.Check(sloppyParser{}, hello) {
		if strings.Contains(err.Error(), "Hostile/hello: empty") || strings.Contains(err.Error(), "random bytes") {
			msg, _, _ := strings.Cut(err.Error(), ": \"") // drop the text shown
			fmt.Println(msg)
		}
	}
	// Output:
	// 0 problems
	// Hostile/hello: empty: parse panicked: runtime error: index out of range [0] with length 0
	// Hostile/hello: random bytes: Document.Text is not valid UTF-8
}
