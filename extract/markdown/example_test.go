package markdown_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/markdown"
)

func Example() {
	src := []byte("# Ducks\n\nDucks are *water birds*; see [Wikipedia](https://en.wikipedia.org/wiki/Duck).\n\n- Mallard\n- Teal\n")
	doc, err := markdown.New().Parse(context.Background(), extract.Input{R: bytes.NewReader(src), Size: int64(len(src)), MediaType: "text/markdown"})
	if err != nil {
		panic(err)
	}
	fmt.Println(doc.Metadata.Title)
	fmt.Println(doc.Text)
	// Output:
	// Ducks
	// Ducks
	//
	// Ducks are water birds; see Wikipedia.
	//
	// Mallard
	// Teal
}
