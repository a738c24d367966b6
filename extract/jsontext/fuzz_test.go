package jsontext_test

import (
	"testing"

	"github.com/quarryhq/quarry/extract/extracttest"
	"github.com/quarryhq/quarry/extract/jsontext"
)

func FuzzParse(f *testing.F) {
	seeds := append([][]byte{
		[]byte(""), []byte("{}"), []byte("[]"), []byte(`"s"`), []byte("1 2 3"), []byte(`{"a":{"b":[1,{"c":null}]}}`),
		[]byte(`[[[[[[[[[[`), []byte(`{"a":"\ud800"}`), []byte("\xFF\xFE[\x001\x00]\x00"), []byte(`{"title":["x"]}`),
		[]byte("{\"a\":1}\n{\"b\":2"),
	}, samples...)
	extracttest.Fuzz(f, jsontext.New(), seeds...)
}
