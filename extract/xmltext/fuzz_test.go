package xmltext_test

import (
	"testing"

	"github.com/quarryhq/quarry/extract/extracttest"
	"github.com/quarryhq/quarry/extract/xmltext"
)

func FuzzParse(f *testing.F) {
	seeds := append([][]byte{
		[]byte(""), []byte("<r/>"), []byte("<r>x<![CDATA[y]]>&amp;&#65;</r>"), []byte("<a><title>t</title><b>u</b>v</a>"),
		[]byte(`<?xml version="1.0" encoding="windows-1251"?><r>` + "\xcf" + `</r>`), []byte(`<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>`),
		[]byte("\xFF\xFE<\x00r\x00/\x00>\x00"), []byte("<a:b xmlns:a='u'><a:title>q</a:title></a:b>"), []byte("<r><r><r>"),
	}, samples...)
	extracttest.Fuzz(f, xmltext.New(), seeds...)
}
