package image_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/quarryhq/quarry/extract/extracttest"
	"github.com/quarryhq/quarry/extract/image"
)

// FuzzParse fuzzes the header readers from the samples of testdata: the
// parser must hold the properties of extracttest.Fuzz (no panic, no hang,
// sentinel errors, well-formed documents) on any input.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		f.Fatal(err)
	}
	var seeds [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	seeds = append(seeds, []byte("II*\x00\x08\x00\x00\x00"), []byte("MM\x00+\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10"))
	extracttest.Fuzz(f, image.New(), seeds...)
}
