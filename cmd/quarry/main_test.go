package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract/isolate"
)

// TestMain makes the test binary a parser worker too, as main makes the
// quarry binary: `quarry serve` in these tests starts its pool of workers
// from os.Executable(), which is this binary.
func TestMain(m *testing.M) {
	isolate.RunWorkerIfChild(workerExtractor)
	os.Exit(m.Run())
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "quarry.yaml")
	os.WriteFile(file, []byte("addr: 127.0.0.1:9001\ndata_dir: /from/file\nlog_level: warn\nextract_timeout: 5s\n"), 0o600)
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg, rest, err := loadConfig(fs, []string{"--config", file, "--log-level", "debug", "extra"},
		env(map[string]string{"QUARRY_DATA_DIR": "/from/env", "QUARRY_MAX_UPLOAD_BYTES": "1024"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9001" || cfg.DataDir != "/from/env" || cfg.LogLevel != "debug" ||
		cfg.MaxUploadBytes != 1024 || cfg.ExtractTimeout != 5*time.Second || cfg.LogFormat != "json" {
		t.Fatalf("cfg = %+v", cfg)
	}
	if len(rest) != 1 || rest[0] != "extra" {
		t.Fatalf("rest = %v", rest)
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	cases := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"QUARRY_MAX_UPLOAD_BYTES": "lots"}, nil, "QUARRY_MAX_UPLOAD_BYTES"},
		{map[string]string{"QUARRY_MAX_UPLOAD_BYTES": "-1"}, nil, "QUARRY_MAX_UPLOAD_BYTES"},
		{map[string]string{"QUARRY_EXTRACT_TIMEOUT": "soon"}, nil, "QUARRY_EXTRACT_TIMEOUT"},
		{map[string]string{"QUARRY_LOG_LEVEL": "loud"}, nil, "QUARRY_LOG_LEVEL"},
		{map[string]string{"QUARRY_DATABASE_URL": "postgres://x/y"}, nil, "QUARRY_DATABASE_URL"},
		{map[string]string{"QUARRY_BLOB_URL": "s3://bucket"}, nil, "QUARRY_BLOB_URL"},
		{map[string]string{"QUARRY_FETCH_ALLOW_CIDRS": "not-a-cidr"}, nil, "QUARRY_FETCH_ALLOW_CIDRS"},
		{map[string]string{"QUARRY_FETCH_ALLOW_PORTS": "99999"}, nil, "QUARRY_FETCH_ALLOW_PORTS"},
		{nil, []string{"--max-upload-bytes", "x"}, "max-upload-bytes"},
	}
	for _, c := range cases {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		_, _, err := loadConfig(fs, c.args, env(c.env))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: err = %v, want it to name %s", c.env, c.args, err, c.want)
		}
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("adress: typo\n"), 0o600)
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	if _, _, err := loadConfig(fs, []string{"--config", bad}, env(nil)); err == nil || !strings.Contains(err.Error(), "adress") {
		t.Errorf("unknown key: err = %v", err)
	}
}

func TestVersionAndUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"version"}, nil, &out, &errOut, env(nil)); code != 0 || !strings.HasPrefix(out.String(), "quarry ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	if code := run(context.Background(), nil, nil, &out, &errOut, env(nil)); code != 2 {
		t.Fatalf("no args: %d", code)
	}
	if code := run(context.Background(), []string{"frobnicate"}, nil, &out, &errOut, env(nil)); code != 2 {
		t.Fatalf("unknown command: %d", code)
	}
}

func TestExtractCommand(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "note.md")
	os.WriteFile(good, []byte("# Title\n\nSome *emphasis* here. And a second sentence.\n"), 0o600)
	bad := filepath.Join(dir, "broken.pdf")
	os.WriteFile(bad, []byte("%PDF-1.7\nthis is not really a pdf"), 0o600)
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, nil, 0o600)

	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"extract", "--json", good}, nil, &out, &errOut, env(nil))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var res extractResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("not one JSON object per line: %v\n%s", err, out.String())
	}
	if !strings.Contains(res.Text, "Some emphasis here.") || strings.Contains(res.Text, "*") || res.Metadata.Parser != "markdown" || res.Mode != "text" {
		t.Fatalf("result = %+v", res)
	}

	out.Reset()
	errOut.Reset()
	code = run(context.Background(), []string{"extract", good, bad, empty, filepath.Join(dir, "missing.txt")}, nil, &out, &errOut, env(nil))
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{"broken.pdf: malformed_document:", "empty.txt: malformed_document:", "missing.txt: internal:"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}
	if !strings.Contains(out.String(), "Some emphasis here.") {
		t.Fatalf("stdout = %q", out.String())
	}
	if code := run(context.Background(), []string{"extract", "--mode", "poem", good}, nil, &out, &errOut, env(nil)); code != 2 {
		t.Fatalf("bad mode: exit %d", code)
	}
}

func TestMigrateCommand(t *testing.T) {
	e := env(map[string]string{"QUARRY_DATA_DIR": t.TempDir()})
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"migrate", "status"}, nil, &out, &errOut, e); code != 0 {
		t.Fatalf("status: %d %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "pending") {
		t.Fatalf("fresh status = %q", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"migrate", "up"}, nil, &out, &errOut, e); code != 0 {
		t.Fatalf("up: %d %s", code, errOut.String())
	}
	if strings.Contains(out.String(), "pending") || !strings.Contains(out.String(), "0001") {
		t.Fatalf("after up = %q", out.String())
	}
	if code := run(context.Background(), []string{"migrate", "sideways"}, nil, &out, &errOut, e); code != 2 {
		t.Fatalf("unknown subcommand: %d", code)
	}
}

// lockedBuffer lets the test read the server's log while it writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// served is a `quarry serve` started by startServe.
type served struct {
	base string // http://127.0.0.1:PORT
	logs *lockedBuffer
	stop func() int
}

// startServe runs `quarry serve` with the environment e (QUARRY_ADDR
// 127.0.0.1:0) as main would and waits until it listens. stop cancels it
// as SIGTERM would and returns its exit code; it is also called at the end
// of the test, once.
func startServe(t *testing.T, e func(string) string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve"}, nil, io.Discard, logs, e) }()
	code, stopped := 0, false
	stop := func() int {
		if stopped {
			return code
		}
		stopped = true
		cancel()
		select {
		case code = <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
			code = -1
		}
		return code
	}
	t.Cleanup(func() { stop() })
	addrRe := regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := addrRe.FindStringSubmatch(logs.String()); m != nil {
			return &served{base: "http://" + m[1], logs: logs, stop: stop}
		}
	}
	t.Fatalf("server did not start:\n%s", logs.String())
	return nil
}

// multipartFile returns a multipart body whose file part is content,
// after the given form fields (name, value pairs), and its content type.
func multipartFile(name string, content []byte, fields ...string) ([]byte, string) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for i := 0; i+1 < len(fields); i += 2 {
		mw.WriteField(fields[i], fields[i+1])
	}
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(content)
	mw.Close()
	return body.Bytes(), mw.FormDataContentType()
}

// upload posts content to the server's /api/v1/upload and returns the new
// source's id.
func (s *served) upload(t *testing.T, name string, content []byte) string {
	t.Helper()
	body, ctype := multipartFile(name, content)
	resp, err := http.Post(s.base+"/api/v1/upload", ctype, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var up struct {
		Data struct{ ID string } `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&up)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || up.Data.ID == "" {
		t.Fatalf("upload %s: status %d", name, resp.StatusCode)
	}
	return up.Data.ID
}

// TestServeEndToEnd runs `quarry serve` as main would (config from the
// environment, migration, wiring), uploads and extracts a document over
// HTTP, then stops it as SIGTERM would.
func TestServeEndToEnd(t *testing.T) {
	dataDir := t.TempDir()
	srv := startServe(t, env(map[string]string{"QUARRY_ADDR": "127.0.0.1:0", "QUARRY_DATA_DIR": dataDir}))
	base, logs := srv.base, srv.logs

	id := srv.upload(t, "hello.html", []byte("<html><head><title>Hello</title><script>alert(1)</script></head><body><p>Hello from the binary.</p></body></html>"))
	resp, err := http.Post(base+"/api/v1/extract", "application/json", strings.NewReader(`{"source_id":"`+id+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var x struct {
		Data struct {
			Text     string
			Metadata struct{ Title string }
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&x)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(x.Data.Text, "Hello from the binary.") || strings.Contains(x.Data.Text, "alert") || x.Data.Metadata.Title != "Hello" {
		t.Fatalf("extract: %d %+v", resp.StatusCode, x)
	}
	// ai-assist answers from the stored source with the offline provider.
	resp, err = http.Post(base+"/api/v1/ai-assist", "application/json", strings.NewReader(`{"task":"ask","source_id":"`+id+`","question":"Where is hello from?"}`))
	if err != nil {
		t.Fatal(err)
	}
	var as struct {
		Data struct {
			Output, Provider string
			Citations        []struct{ Start, End int }
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&as)
	resp.Body.Close()
	if resp.StatusCode != 200 || as.Data.Provider != "extractive" || !strings.Contains(as.Data.Output, "binary") || len(as.Data.Citations) == 0 {
		t.Fatalf("ai-assist: %d %+v", resp.StatusCode, as)
	}
	// The extraction ran in a parser worker process (QUARRY_ISOLATION
	// defaults to process), as /metrics shows.
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`(?m)^quarry_parser_documents_total [1-9]`).Match(m) || !strings.Contains(string(m), "quarry_parser_crashes_total 0") {
		t.Errorf("metrics do not show an isolated extraction:\n%s", m)
	}

	if code := srv.stop(); code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, logs.String())
	}
	if _, err := os.Stat(filepath.Join(dataDir, "quarry.db")); err != nil {
		t.Fatalf("no database in the data dir: %v", err)
	}
	for line := range strings.Lines(logs.String()) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
	}
}

func TestServeRefusesNewerSchema(t *testing.T) {
	dataDir := t.TempDir()
	e := env(map[string]string{"QUARRY_ADDR": "127.0.0.1:0", "QUARRY_DATA_DIR": dataDir})
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"migrate", "up"}, nil, &out, &errOut, e); code != 0 {
		t.Fatal(errOut.String())
	}
	markNewerSchema(t, filepath.Join(dataDir, "quarry.db"))
	errOut.Reset()
	code := run(context.Background(), []string{"serve"}, nil, &out, &errOut, e)
	if code != 1 || !strings.Contains(errOut.String(), "newer") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut.String())
	}
}

// TestIsolationConfig: the parser worker settings are validated, naming
// the setting.
func TestIsolationConfig(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg, _, err := loadConfig(fs, nil, env(nil))
	if err != nil || cfg.Isolation != "process" || cfg.WorkerMemory != 1<<30 || cfg.WorkerMaxDocs != 100 || cfg.Workers != 0 {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"QUARRY_ISOLATION": "container"}, "QUARRY_ISOLATION (isolation)"},
		{map[string]string{"QUARRY_WORKERS": "-2"}, "QUARRY_WORKERS"},
		{map[string]string{"QUARRY_WORKER_MEMORY": "1000"}, "QUARRY_WORKER_MEMORY"},
		{map[string]string{"QUARRY_WORKER_MAX_DOCS": "0"}, "QUARRY_WORKER_MAX_DOCS"},
		{map[string]string{"QUARRY_LLM_URL": "http://127.0.0.1:11434/v1"}, "QUARRY_LLM_MODEL"},
		{map[string]string{"QUARRY_LLM_URL": "ftp://x", "QUARRY_LLM_MODEL": "m"}, "QUARRY_LLM_URL"},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		if _, _, err := loadConfig(fs, nil, env(c.env)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want it to name %s", c.env, err, c.want)
		}
	}
}
