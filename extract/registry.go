package extract

import (
	"errors"
	"fmt"
	"mime"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/gabriel-vasile/mimetype"
)

// SniffLen is how many leading bytes the Registry reads to sniff a format.
const SniffLen = 8 << 10

// Registry maps media types to parsers. It is a value, not a global: build
// one with [NewRegistry], register parsers, and hand it to an [Extractor].
// A Registry is safe for concurrent use.
type Registry struct {
	mu       sync.RWMutex
	byName   map[string]Parser
	byType   map[string]string // media type -> parser name
	sniffers []string          // names of parsers implementing Sniffer, in registration order
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{byName: map[string]Parser{}, byType: map[string]string{}}
}

// Register adds p under name. It refuses an empty name, a nil parser, a
// parser with no media types or with one that is not type/subtype, a name
// already taken and a media type another parser already reads.
func (r *Registry) Register(name string, p Parser) error {
	if name == "" {
		return errors.New("extract: register: empty parser name")
	}
	if p == nil {
		return fmt.Errorf("extract: register %q: nil parser", name)
	}
	types := p.MediaTypes()
	if len(types) == 0 {
		return fmt.Errorf("extract: register %q: parser lists no media types", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.byName[name]; dup {
		return fmt.Errorf("extract: register %q: parser name already registered", name)
	}
	for _, t := range types {
		t = baseType(t)
		if main, sub, ok := strings.Cut(t, "/"); !ok || main == "" || sub == "" {
			return fmt.Errorf("extract: register %q: invalid media type %q", name, t)
		}
		if other, dup := r.byType[t]; dup {
			return fmt.Errorf("extract: register %q: media type %s already read by parser %q", name, t, other)
		}
	}
	r.byName[name] = p
	for _, t := range types {
		r.byType[baseType(t)] = name
	}
	if _, ok := p.(Sniffer); ok {
		r.sniffers = append(r.sniffers, name)
	}
	return nil
}

// MustRegister is like Register but panics on error. Use it where a
// failure is a programming error, as in main.
func (r *Registry) MustRegister(name string, p Parser) {
	if err := r.Register(name, p); err != nil {
		panic(err)
	}
}

// Parsers returns the registered parser names, sorted.
func (r *Registry) Parsers() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.byName))
	for n := range r.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// MediaTypes returns every media type some parser reads, sorted.
func (r *Registry) MediaTypes() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	types := make([]string, 0, len(r.byType))
	for t := range r.byType {
		types = append(types, t)
	}
	slices.Sort(types)
	return types
}

// Lookup returns the parser for mediaType (parameters are ignored) and its
// registered name. It follows the sniffer's type hierarchy, so a parser for
// "text/plain" also reads "text/x-log" unless another parser claims it.
func (r *Registry) Lookup(mediaType string) (name string, p Parser, err error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t := baseType(mediaType)
	if n, ok := r.byType[t]; ok {
		return n, r.byName[n], nil
	}
	for m := mimetype.Lookup(t); m != nil; m = m.Parent() {
		if n, ok := r.byType[baseType(m.String())]; ok && baseType(m.String()) != "application/octet-stream" {
			return n, r.byName[n], nil
		}
	}
	return "", nil, fmt.Errorf("%w: no parser reads %s", ErrUnsupportedFormat, t)
}

// Sniff returns the media type of a document from its first bytes (at least
// [SniffLen] of them where the document is that long). The content decides:
// filename only refines a generic text type (a ".md" file sniffed as plain
// text is Markdown), never overrides what the bytes say.
//
// Parsers that implement [Sniffer] are asked when the generic sniffer finds
// nothing that a registered parser reads, or only plain text.
func (r *Registry) Sniff(head []byte, filename string) string {
	m := mimetype.Detect(head)
	detected := m.String()
	if baseType(detected) == "text/plain" {
		if refined := textByExtension(filename); refined != "" {
			if _, _, err := r.Lookup(refined); err == nil {
				return refined + paramsOf(detected)
			}
		}
	}
	// Plain text is the generic sniffer's answer for every text format it
	// does not know (mail, RTF with a byte-order mark...): parsers that
	// recognise their own format are asked first.
	generic := baseType(detected) == "text/plain"
	if _, _, err := r.Lookup(detected); err == nil && !generic && baseType(detected) != "application/octet-stream" {
		return detected
	}
	r.mu.RLock()
	sniffers := make([]Sniffer, 0, len(r.sniffers))
	for _, n := range r.sniffers {
		sniffers = append(sniffers, r.byName[n].(Sniffer))
	}
	r.mu.RUnlock()
	for _, s := range sniffers {
		if t := s.Sniff(head); t != "" && !(generic && baseType(t) == "text/plain") {
			return t
		}
	}
	return detected
}

// textByExtension maps the extensions of text formats that share the
// text/plain signature to their own media type.
func textByExtension(filename string) string {
	switch strings.ToLower(path.Ext(filename)) {
	case ".md", ".markdown", ".mdown", ".mkd":
		return "text/markdown"
	case ".csv":
		return "text/csv" // semicolon- or pipe-separated files sniff as plain text
	case ".tsv", ".tab":
		return "text/tab-separated-values"
	case ".json":
		return "application/json" // a lone JSON string sniffs as plain text
	case ".ndjson", ".jsonl":
		return "application/x-ndjson"
	case ".xml":
		return "application/xml" // XML without a declaration sniffs as plain text
	case ".srt":
		return "application/x-subrip" // cues without numbers sniff as plain text
	case ".vtt":
		return "text/vtt" // a WebVTT file without its header sniffs as plain text
	}
	return ""
}

func baseType(t string) string {
	if mt, _, err := mime.ParseMediaType(t); err == nil {
		return mt
	}
	t, _, _ = strings.Cut(t, ";")
	return strings.ToLower(strings.TrimSpace(t))
}

func paramsOf(t string) string {
	if _, p, ok := strings.Cut(t, ";"); ok {
		return ";" + p
	}
	return ""
}

// BaseType strips parameters from a media type: "text/plain; charset=utf-8"
// becomes "text/plain".
func BaseType(mediaType string) string { return baseType(mediaType) }

// MediaTypeParam returns one parameter of a media type, "" when absent.
func MediaTypeParam(mediaType, key string) string {
	_, params, err := mime.ParseMediaType(mediaType)
	if err != nil {
		return ""
	}
	return params[key]
}
