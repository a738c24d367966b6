package html_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/html"
)

func Example() {
	src := []byte(`<html><head><title>Ducks</title><script>track()</script></head>
<body><nav>Home | About</nav><main><h1>Ducks</h1><p>Ducks are <em>water</em> birds.</p>
<table><tr><th>Name</th><th>Habitat</th></tr><tr><td>Mallard</td><td>Ponds</td></tr></table></main></body></html>`)
	doc, err := html.New().Parse(context.Background(), extract.Input{R: bytes.NewReader(src), Size: int64(len(src)), MediaType: "text/html"})
	if err != nil {
		panic(err)
	}
	fmt.Println(doc.Metadata.Title)
	fmt.Println(doc.Text)
	// Output:
	// Ducks
	// Ducks
	//
	// Ducks are water birds.
	//
	// Name	Habitat
	// Mallard	Ponds
}
