package csv_test

import (
	"testing"

	"github.com/quarryhq/quarry/extract/csv"
	"github.com/quarryhq/quarry/extract/extracttest"
)

func FuzzParse(f *testing.F) {
	seeds := append([][]byte{
		[]byte(""), []byte("a"), []byte("a,b\n1,2"), []byte("\"a\"\"b\",c\r\n"), []byte("\"unterminated,x\ny"),
		[]byte("a;b|c\td\n"), []byte("\xFF\xFEa\x00,\x00b\x00"), []byte(",,,\n\n,"), []byte("\"\"\"\n\"\"\""),
	}, samples...)
	extracttest.Fuzz(f, csv.New(), seeds...)
}
