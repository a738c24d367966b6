//go:build !linux

package isolate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/quarryhq/quarry/extract"
)

// Pool extracts documents in worker processes. Worker processes need Linux:
// elsewhere [New] fails with an error wrapping errors.ErrUnsupported, and
// a caller falls back to an in-process [extract.Extractor].
type Pool struct{ cfg Config }

// New fails on this platform: with cfg's validation error, or else with an
// error wrapping errors.ErrUnsupported.
func New(cfg Config) (*Pool, error) {
	if err := cfg.withDefaults().validate(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("isolate: worker processes need Linux, not %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// RunWorkerIfChild returns at once: no Pool starts workers on this
// platform.
func RunWorkerIfChild(newExtractor func() (*extract.Extractor, error)) {}

// Registry returns the registry of Config.Extractor.
func (p *Pool) Registry() *extract.Registry { return p.cfg.Extractor.Registry() }

// Limits returns the limits of Config.Extractor.
func (p *Pool) Limits() extract.Limits { return p.cfg.Extractor.Limits() }

// Sniff returns the media type of a document with Config.Extractor.
func (p *Pool) Sniff(ctx context.Context, r io.ReaderAt, size int64, filename string) (string, error) {
	return p.cfg.Extractor.Sniff(ctx, r, size, filename)
}

// Extract fails: New never returns a Pool on this platform.
func (p *Pool) Extract(ctx context.Context, in extract.Input, opts extract.Options) (*extract.Document, error) {
	return nil, ErrClosed
}

// Close does nothing.
func (p *Pool) Close(ctx context.Context) error { return nil }

// Stats returns zero counters.
func (p *Pool) Stats() Stats { return Stats{} }
