package extract_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract"
)

// toolParser stands for a parser whose work runs in external tools: it
// works until its context ends, then takes a moment to clean up (remove
// its temp files) before it returns.
type toolParser struct {
	timeout time.Duration
	work    time.Duration
	cleaned atomic.Bool
}

func (p *toolParser) MediaTypes() []string       { return []string{"audio/x-tool"} }
func (p *toolParser) ToolTimeout() time.Duration { return p.timeout }
func (p *toolParser) Parse(ctx context.Context, _ extract.Input) (*extract.Document, error) {
	select {
	case <-time.After(p.work):
		return &extract.Document{Text: "done by the tool"}, nil
	case <-ctx.Done():
	}
	time.Sleep(50 * time.Millisecond) // removing temp files
	p.cleaned.Store(true)
	return nil, ctx.Err()
}

func toolExtractor(t *testing.T, p extract.Parser) *extract.Extractor {
	t.Helper()
	reg := extract.NewRegistry()
	reg.MustRegister("tool", p)
	ex, err := extract.New(reg, extract.Config{Timeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

var toolInput = extract.Input{R: strings.NewReader("x"), Size: 1, MediaType: "audio/x-tool"}

// TestExternalToolTimeout: an ExternalTool parser gets its ToolTimeout,
// not the Extractor's document deadline.
func TestExternalToolTimeout(t *testing.T) {
	p := &toolParser{timeout: 10 * time.Second, work: 200 * time.Millisecond}
	doc, err := toolExtractor(t, p).Extract(context.Background(), toolInput, extract.Options{})
	if err != nil || doc.Text != "done by the tool" {
		t.Fatalf("doc %v, err %v: the 20 ms document deadline applied to a tool parser", doc, err)
	}
}

// TestExternalToolCleansUpBeforeTheAnswer: at its deadline, an
// ExternalTool parser is waited for, so its cleanup is done when the
// caller hears ErrTimeout.
func TestExternalToolCleansUpBeforeTheAnswer(t *testing.T) {
	p := &toolParser{timeout: 30 * time.Millisecond, work: time.Hour}
	_, err := toolExtractor(t, p).Extract(context.Background(), toolInput, extract.Options{})
	if !errors.Is(err, extract.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if !p.cleaned.Load() {
		t.Error("the answer came before the parser had cleaned up")
	}
}
