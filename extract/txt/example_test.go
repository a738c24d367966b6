package txt_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/txt"
)

func Example() {
	reg := extract.NewRegistry()
	reg.MustRegister("txt", txt.New())
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		panic(err)
	}
	// "Привет, мир" in windows-1251, which content sniffers call latin-1.
	data := []byte("\xcf\xf0\xe8\xe2\xe5\xf2, \xec\xe8\xf0")
	doc, err := ex.Extract(context.Background(), extract.Input{R: bytes.NewReader(data), Size: int64(len(data))}, extract.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Println(doc.Text, doc.Metadata.Charset)
	// Output: Привет, мир windows-1251
}
