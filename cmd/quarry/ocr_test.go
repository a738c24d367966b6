package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/ocr/ocrtest"
	"github.com/quarryhq/quarry/internal/corpustest"
	"github.com/quarryhq/quarry/internal/wordf1"
)

func TestConfigOCR(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg, _, err := loadConfig(fs, nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OCR != "auto" || cfg.OCRLanguages != "eng" || cfg.OCRConcurrency != 0 {
		t.Errorf("defaults: %q %q %d", cfg.OCR, cfg.OCRLanguages, cfg.OCRConcurrency)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "quarry.yaml")
	os.WriteFile(file, []byte("ocr: off\nocr_languages: deu\nocr_concurrency: 3\n"), 0o600)
	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	cfg, _, err = loadConfig(fs, []string{"--config", file, "--ocr", "Tesseract"}, env(map[string]string{"QUARRY_OCR_LANGUAGES": "eng+deu, fra"}))
	if err != nil {
		t.Fatal(err)
	}
	langs, _ := cfg.ocrLanguages()
	if cfg.OCR != "Tesseract" || strings.Join(langs, "+") != "eng+deu+fra" || cfg.OCRConcurrency != 3 {
		t.Errorf("file, env and flag: %q %q %d", cfg.OCR, langs, cfg.OCRConcurrency)
	}
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"QUARRY_OCR": "maybe"}, "QUARRY_OCR (ocr)"},
		{map[string]string{"QUARRY_OCR_LANGUAGES": "eng;rm -rf"}, "QUARRY_OCR_LANGUAGES"},
		{map[string]string{"QUARRY_OCR_LANGUAGES": "../../etc/eng"}, "QUARRY_OCR_LANGUAGES"},
		{map[string]string{"QUARRY_OCR_LANGUAGES": " + "}, "QUARRY_OCR_LANGUAGES"},
		{map[string]string{"QUARRY_OCR_CONCURRENCY": "-1"}, "QUARRY_OCR_CONCURRENCY"},
		{map[string]string{"QUARRY_OCR_CONCURRENCY": "many"}, "QUARRY_OCR_CONCURRENCY"},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		if _, _, err := loadConfig(fs, nil, env(c.env)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want it to name %s", c.env, err, c.want)
		}
	}
}

// scannedPDF returns the path of the corpus's scanned PDF and its expected
// text.
func scannedPDF(t *testing.T) (string, string) {
	t.Helper()
	dir := corpustest.Require(t)
	exp, err := os.ReadFile(filepath.Join(dir, "expected", "pdf-docling-ocr_test.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "files", "pdf-docling-ocr_test.pdf"), string(exp)
}

func hasWarning(ws []extract.Warning, code, contains string) bool {
	for _, w := range ws {
		if w.Code == code && strings.Contains(w.Message, contains) {
			return true
		}
	}
	return false
}

func TestExtractCommandOCR(t *testing.T) {
	ocrtest.RequireTools(t, "tesseract", "pdftoppm", "pdfinfo")
	pdf, expected := scannedPDF(t)
	for _, mode := range []string{"", "tesseract"} { // "": the default, auto
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"extract", "--json", pdf}, nil, &out, &errOut, env(map[string]string{"QUARRY_OCR": mode}))
		if code != 0 {
			t.Fatalf("QUARRY_OCR=%q: exit %d: %s", mode, code, errOut.String())
		}
		var res extractResult
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		_, _, f1, _ := wordf1.Score(expected, res.Text)
		if f1 < 0.9 || !hasWarning(res.Warnings, extract.WarnOCRApplied, "tesseract") {
			t.Errorf("QUARRY_OCR=%q: word F1 %.3f, text %q, warnings %v", mode, f1, res.Text, res.Warnings)
		}
	}
	// Plain text output prints the OCR text.
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"extract", "--ocr-languages", "eng", pdf}, nil, &out, &errOut, env(nil)); code != 0 || !strings.Contains(out.String(), "Docling bundles PDF document conversion") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

func TestExtractCommandOCROff(t *testing.T) {
	pdf, _ := scannedPDF(t)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"extract", "--json", "--ocr", "off", pdf}, nil, &out, &errOut, env(nil))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var res extractResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(res.Text) != "" || !hasWarning(res.Warnings, extract.WarnNoTextLayer, "OCR is off") {
		t.Errorf("text %q, warnings %v; want no text and a warning saying OCR is off", res.Text, res.Warnings)
	}
}

// TestOCRWithoutTesseract hides tesseract from PATH: auto goes on without
// OCR (and says so in the log), tesseract refuses to start.
func TestOCRWithoutTesseract(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	pdf, _ := scannedPDF(t)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"extract", "--json", "--log-level", "debug", pdf}, nil, &out, &errOut, env(nil))
	if code != 0 {
		t.Fatalf("auto: exit %d: %s", code, errOut.String())
	}
	var res extractResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if !hasWarning(res.Warnings, extract.WarnNoTextLayer, "OCR is off") || !strings.Contains(errOut.String(), "OCR is off: tesseract is not installed") {
		t.Errorf("warnings %v, log %q", res.Warnings, errOut.String())
	}
	out.Reset()
	errOut.Reset()
	code = run(context.Background(), []string{"extract", pdf}, nil, &out, &errOut, env(map[string]string{"QUARRY_OCR": "tesseract"}))
	if code != 1 || !strings.Contains(errOut.String(), "QUARRY_OCR (ocr): ocr: engine unavailable: tesseract is not installed") {
		t.Errorf("tesseract: exit %d, stderr %q", code, errOut.String())
	}
}

func TestServeOCR(t *testing.T) {
	ocrtest.RequireTools(t, "tesseract", "pdftoppm", "pdfinfo")
	pdf, expected := scannedPDF(t)
	data, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	e := env(map[string]string{"QUARRY_ADDR": "127.0.0.1:0", "QUARRY_DATA_DIR": dataDir, "QUARRY_OCR": "tesseract", "QUARRY_OCR_CONCURRENCY": "1"})
	srv := startServe(t, e)
	base, logs := srv.base, srv.logs
	if !strings.Contains(logs.String(), `"msg":"OCR is on","engine":"tesseract`) {
		t.Errorf("no OCR log line:\n%s", logs.String())
	}

	id := srv.upload(t, "scan.pdf", data)
	resp, err := http.Post(base+"/api/v1/extract", "application/json", strings.NewReader(`{"source_id":"`+id+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var x struct {
		Data struct {
			Text     string
			Warnings []extract.Warning
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&x)
	resp.Body.Close()
	_, _, f1, _ := wordf1.Score(expected, x.Data.Text)
	if resp.StatusCode != 200 || f1 < 0.9 || !hasWarning(x.Data.Warnings, extract.WarnOCRApplied, "tesseract") {
		t.Errorf("extract: %d, word F1 %.3f, %+v", resp.StatusCode, f1, x.Data)
	}
}
